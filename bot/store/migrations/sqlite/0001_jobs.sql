-- Everything needed to finish a job after a restart lives in this row (and its inputs).
CREATE TABLE jobs (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    provider             TEXT    NOT NULL,
    kind                 TEXT    NOT NULL
        CHECK (kind IN ('create', 'animate', 'encrypt_text', 'encrypt_image', 'retry')),
    state                TEXT    NOT NULL
        CHECK (state IN ('queued', 'submitting', 'running', 'completed', 'delivered',
                         'failed', 'moderated', 'cancelled', 'expired')),
    owner_id             INTEGER NOT NULL,
    guild_id             INTEGER,
    channel_id           INTEGER NOT NULL,
    thread_id            INTEGER,
    interaction_id       INTEGER,
    -- The interaction's attachment_size_limit: the largest upload the result may be.
    upload_limit         INTEGER,
    status_message_id    INTEGER,
    prompt               TEXT    NOT NULL DEFAULT '',
    options_json         TEXT    NOT NULL DEFAULT '{}',
    message_text         TEXT,
    font                 TEXT,
    parent_id            INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    account              TEXT,
    upstream_id          TEXT,
    -- sha256 of the per-job callback capability; NULL once the job no longer accepts callbacks.
    callback_token_hash  TEXT UNIQUE,
    attempts             INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      REAL    NOT NULL DEFAULT 0,
    next_poll_at         REAL,
    progress             TEXT,
    error_code           TEXT,
    error_message        TEXT,
    video_path           TEXT,
    video_size           INTEGER,
    video_filename       TEXT,
    video_content_type   TEXT,
    video_url            TEXT,
    video_seed           TEXT,  -- Pika seeds are unsigned 64-bit: too big for SQLite's INTEGER
    delivered_message_id INTEGER,
    delivery_attempts    INTEGER NOT NULL DEFAULT 0,
    notified             INTEGER NOT NULL DEFAULT 0,
    created_at           REAL    NOT NULL,
    updated_at           REAL    NOT NULL,
    submitted_at         REAL,
    finished_at          REAL
);

-- The member's images, kept until the job is finished so a queued job survives a restart.
CREATE TABLE job_inputs (
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    field        TEXT    NOT NULL,
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (job_id, field)
);

-- Every state change, written by triggers so no code path can skip it (audits, invariant checks).
CREATE TABLE job_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    from_state TEXT,
    to_state   TEXT    NOT NULL,
    at         REAL    NOT NULL
);

CREATE TRIGGER jobs_created AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_events (job_id, from_state, to_state, at) VALUES (NEW.id, NULL, NEW.state, NEW.created_at);
END;

CREATE TRIGGER jobs_state_changed AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state
BEGIN
    INSERT INTO job_events (job_id, from_state, to_state, at) VALUES (NEW.id, OLD.state, NEW.state, NEW.updated_at);
END;

-- Small facts about the installation, e.g. the hash of the last synced command tree.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The scheduler's, poller's and recovery's scans all start from (state, due time).
CREATE INDEX jobs_state_due ON jobs (state, next_attempt_at);
CREATE INDEX jobs_state_poll ON jobs (state, next_poll_at);
CREATE INDEX jobs_owner_created ON jobs (owner_id, created_at DESC);
CREATE INDEX jobs_owner_submitted ON jobs (owner_id, submitted_at);
CREATE INDEX jobs_upstream ON jobs (provider, upstream_id);
CREATE INDEX jobs_parent ON jobs (parent_id);
CREATE INDEX job_events_job ON job_events (job_id);
