-- pikabot: foreign_keys_off
-- API Glue and fal.ai: new job kinds (SQLite cannot alter a CHECK, so the table is rebuilt the
-- documented way, with foreign keys off so the DROP does not cascade to inputs and events), typed
-- options beside the prompt flags, and a provider-opaque handle on the upstream job (fal's URLs).
CREATE TABLE jobs_new (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    provider             TEXT    NOT NULL,
    kind                 TEXT    NOT NULL
        CHECK (kind IN ('create', 'animate', 'encrypt_text', 'encrypt_image', 'retry',
                        'generate', 'extend', 'upscale', 'scenes', 'frames')),
    state                TEXT    NOT NULL
        CHECK (state IN ('queued', 'submitting', 'running', 'completed', 'delivered',
                         'failed', 'moderated', 'cancelled', 'expired')),
    owner_id             INTEGER NOT NULL,
    guild_id             INTEGER,
    channel_id           INTEGER NOT NULL,
    thread_id            INTEGER,
    interaction_id       INTEGER,
    upload_limit         INTEGER,
    status_message_id    INTEGER,
    prompt               TEXT    NOT NULL DEFAULT '',
    options_json         TEXT    NOT NULL DEFAULT '{}',
    params_json          TEXT    NOT NULL DEFAULT '{}',
    message_text         TEXT,
    font                 TEXT,
    parent_id            INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
    account              TEXT,
    upstream_id          TEXT,
    upstream_handle      TEXT,
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
    video_seed           TEXT,
    delivered_message_id INTEGER,
    delivery_attempts    INTEGER NOT NULL DEFAULT 0,
    notified             INTEGER NOT NULL DEFAULT 0,
    created_at           REAL    NOT NULL,
    updated_at           REAL    NOT NULL,
    submitted_at         REAL,
    finished_at          REAL
);

INSERT INTO jobs_new (id, provider, kind, state, owner_id, guild_id, channel_id, thread_id, interaction_id,
                      upload_limit, status_message_id, prompt, options_json, message_text, font, parent_id,
                      account, upstream_id, callback_token_hash, attempts, next_attempt_at, next_poll_at,
                      progress, error_code, error_message, video_path, video_size, video_filename,
                      video_content_type, video_url, video_seed, delivered_message_id, delivery_attempts,
                      notified, created_at, updated_at, submitted_at, finished_at)
SELECT id, provider, kind, state, owner_id, guild_id, channel_id, thread_id, interaction_id,
       upload_limit, status_message_id, prompt, options_json, message_text, font, parent_id,
       account, upstream_id, callback_token_hash, attempts, next_attempt_at, next_poll_at,
       progress, error_code, error_message, video_path, video_size, video_filename,
       video_content_type, video_url, video_seed, delivered_message_id, delivery_attempts,
       notified, created_at, updated_at, submitted_at, finished_at
FROM jobs;

DROP TABLE jobs;

ALTER TABLE jobs_new RENAME TO jobs;

CREATE TRIGGER jobs_created AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_events (job_id, from_state, to_state, at) VALUES (NEW.id, NULL, NEW.state, NEW.created_at);
END;

CREATE TRIGGER jobs_state_changed AFTER UPDATE OF state ON jobs WHEN OLD.state <> NEW.state
BEGIN
    INSERT INTO job_events (job_id, from_state, to_state, at) VALUES (NEW.id, OLD.state, NEW.state, NEW.updated_at);
END;

CREATE INDEX jobs_state_due ON jobs (state, next_attempt_at);
CREATE INDEX jobs_state_poll ON jobs (state, next_poll_at);
CREATE INDEX jobs_owner_created ON jobs (owner_id, created_at DESC);
CREATE INDEX jobs_owner_submitted ON jobs (owner_id, submitted_at);
CREATE INDEX jobs_upstream ON jobs (provider, upstream_id);
CREATE INDEX jobs_parent ON jobs (parent_id);
CREATE INDEX jobs_guild_owner_created ON jobs (guild_id, owner_id, created_at);

-- Upstreams that take images as URLs (API Glue) get the member's upload URL, not its bytes.
ALTER TABLE job_inputs ADD COLUMN url TEXT;
