"""fal.ai, the live route to Pika: queue client, the provider, prices and webhook signatures."""
