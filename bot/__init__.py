"""pikabot: relay /pika commands to Pika video APIs and post the results in Discord threads."""

__version__ = "0.1.0"
