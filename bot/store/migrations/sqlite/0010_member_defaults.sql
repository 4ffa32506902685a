-- /pika defaults: a member's own aspect ratio, resolution, model and negative prompt (NULL: none set)
-- and whether results mention them. One row per member, for every server the bot is in.
CREATE TABLE member_defaults (
    user_id      INTEGER PRIMARY KEY,
    aspect_ratio TEXT,
    resolution   TEXT,
    model        TEXT,
    negative     TEXT,
    ping         INTEGER NOT NULL DEFAULT 1,
    updated_at   REAL    NOT NULL
);
-- Stored with each job when it is made, so its status message says "(your default)" and its result
-- pings (or not) as the member chose then, whatever they change later and across restarts.
-- defaulted: the option names that came from the member's defaults, comma-separated.
ALTER TABLE jobs ADD COLUMN defaulted TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN ping INTEGER NOT NULL DEFAULT 1;
-- 1 for a Remix: a member's changed copy of its parent (footer "remix of job N", not "retry of").
ALTER TABLE jobs ADD COLUMN remix INTEGER NOT NULL DEFAULT 0;
