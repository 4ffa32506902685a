"""fal.ai, the live route to Pika: the queue client and its answers, what each model is sent, how
answers map to the engine's terms, the provider, prices and webhook signatures."""
