-- Per-guild overrides of the per-member limits; NULL means "use the configured default".
CREATE TABLE guild_limits (
    guild_id     INTEGER PRIMARY KEY,
    in_flight    INTEGER CHECK (in_flight IS NULL OR in_flight >= 1),
    per_day      INTEGER CHECK (per_day IS NULL OR per_day >= 0),
    cooldown     REAL    CHECK (cooldown IS NULL OR cooldown >= 0),
    updated_at   REAL    NOT NULL
);

-- The limit checks count one member's jobs in one guild, recent first.
CREATE INDEX jobs_guild_owner_created ON jobs (guild_id, owner_id, created_at);
