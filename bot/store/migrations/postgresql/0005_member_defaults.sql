-- As SQLite's 0010: /pika defaults per member, and with each job the options taken from them and
-- whether its result mentions the member.
CREATE TABLE member_defaults (
    user_id      BIGINT PRIMARY KEY,
    aspect_ratio TEXT,
    resolution   TEXT,
    model        TEXT,
    negative     TEXT,
    ping         INTEGER NOT NULL DEFAULT 1,
    updated_at   DOUBLE PRECISION NOT NULL
);
ALTER TABLE jobs ADD COLUMN defaulted TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN ping INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN remix INTEGER NOT NULL DEFAULT 0;
