"""Logs and metrics: what the running bot says about itself."""
