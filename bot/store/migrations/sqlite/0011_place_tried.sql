-- When a job's status message was sent for. Placing is recorded only after Discord answers, so a
-- crash in between left no trace and the next attempt posted a second status message and thread;
-- with this set, the next attempt first looks for the message the cut-short one posted.
ALTER TABLE jobs ADD COLUMN place_tried_at REAL;
