-- As SQLite's 0009. Daily budgets in USD per guild and per member (NULL: the configured default,
-- none), and the budget alerts already sent, one row per guild, UTC day and threshold, so a restart
-- (or a second process) never alerts twice.
ALTER TABLE guild_limits ADD COLUMN guild_budget_usd DOUBLE PRECISION
    CHECK (guild_budget_usd IS NULL OR guild_budget_usd >= 0);
ALTER TABLE guild_limits ADD COLUMN member_budget_usd DOUBLE PRECISION
    CHECK (member_budget_usd IS NULL OR member_budget_usd >= 0);

CREATE TABLE budget_alerts (
    guild_id   BIGINT           NOT NULL,
    day_start  DOUBLE PRECISION NOT NULL,
    threshold  BIGINT           NOT NULL,
    alerted_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (guild_id, day_start, threshold)
);

-- The budget checks add up one guild's jobs of the day.
CREATE INDEX jobs_guild_created ON jobs (guild_id, created_at);
