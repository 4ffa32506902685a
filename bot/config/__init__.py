"""The configuration: TOML file and environment secrets, validated, rendered for check-config."""
