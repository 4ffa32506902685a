-- A callback that names the upstream job of a job still being submitted by another process (which
-- may have died before recording upstream's answer) is kept here, so whichever process reconciles
-- the job tries that upstream job first. It is only a hint: it is used once upstream confirms it
-- carries the job's replyRef.
ALTER TABLE jobs ADD COLUMN callback_hint TEXT;
