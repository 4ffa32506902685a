"""The presentation pipeline: the discord.py client, status messages, results, components."""
