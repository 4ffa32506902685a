-- Per-guild settings made in /pika-admin settings: one JSON document per guild (bot/guild_settings.py
-- reads and writes it). A guild without a row has the defaults: open to everyone everywhere.
CREATE TABLE guild_settings (
    guild_id      INTEGER PRIMARY KEY,
    settings_json TEXT    NOT NULL CHECK (json_valid(settings_json)),
    updated_at    REAL    NOT NULL
);
