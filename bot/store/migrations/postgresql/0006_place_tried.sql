-- As SQLite's 0011: when a job's status message was sent for, so a placement cut short by a crash
-- is looked for before a second status message is sent.
ALTER TABLE jobs ADD COLUMN place_tried_at DOUBLE PRECISION;
