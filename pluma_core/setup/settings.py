"""Configuration keys owned by the setup plugin."""

from __future__ import annotations

import msgspec


class SetupKeys(msgspec.Struct, kw_only=True):
    """``setup_complete`` in ``config.toml``: the first-run wizard was finished or dismissed."""

    setup_complete: bool = False
