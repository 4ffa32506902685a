-- Daily budgets in USD per guild and per member (NULL: the configured default, none), and the
-- budget alerts already sent, one row per guild, UTC day and threshold, so a restart (or a second
-- process) never alerts twice.
ALTER TABLE guild_limits ADD COLUMN guild_budget_usd REAL CHECK (guild_budget_usd IS NULL OR guild_budget_usd >= 0);
ALTER TABLE guild_limits ADD COLUMN member_budget_usd REAL CHECK (member_budget_usd IS NULL OR member_budget_usd >= 0);

CREATE TABLE budget_alerts (
    guild_id   INTEGER NOT NULL,
    day_start  REAL    NOT NULL,
    threshold  INTEGER NOT NULL,
    alerted_at REAL    NOT NULL,
    PRIMARY KEY (guild_id, day_start, threshold)
);

-- The budget checks add up one guild's jobs of the day.
CREATE INDEX jobs_guild_created ON jobs (guild_id, created_at);
