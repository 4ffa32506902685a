"""The aiohttp server: upstream callbacks, /healthz and /metrics."""
