-- The work and the presentation of a job are separate pipelines: a job is queued the moment it is
-- accepted, and `placed` records whether its Discord status message and thread exist yet. A result
-- that is ready before it waits (durably) for placed = 1. Jobs from before this migration were
-- placed before they could run.
ALTER TABLE jobs ADD COLUMN placed INTEGER NOT NULL DEFAULT 1;
-- Jobs held for their status message (next_attempt_at pushed far ahead) are queued at once instead.
UPDATE jobs SET placed = 0, next_attempt_at = created_at WHERE state = 'queued' AND next_attempt_at >= 9.0e15;
CREATE INDEX jobs_unplaced ON jobs (created_at) WHERE placed = 0;
