"""Wire shapes and config of the LLM plugin."""

from __future__ import annotations

import msgspec


class LlmKeys(msgspec.Struct, kw_only=True):
    """Top-level config keys owned by this plugin."""

    base_url: str = ""
