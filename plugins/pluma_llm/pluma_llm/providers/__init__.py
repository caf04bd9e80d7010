"""Chat providers: the interface (``base``) and the built-in ``openai`` and ``anthropic``."""
