"""pluma-llm: connections, providers and streaming chat for Pluma."""
