"""What a job is, independent of any I/O: states and legal moves, options, prompt flags, limits, guild settings."""
