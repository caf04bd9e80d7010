"""Configuration keys owned by the characters plugin (top level of ``config.toml``)."""

from __future__ import annotations

import msgspec


class CharacterKeys(msgspec.Struct, kw_only=True):
    """``card_dirs``: read-only card folders (e.g. SillyTavern's ``characters``);
    ``builtin_pluma_installed``: set once the built-in card was installed, so a deleted card
    stays deleted; ``chub_api_url``/``chub_avatars_url``: chub.ai endpoints (tests point them at
    a loopback fake)."""

    card_dirs: list[str] = msgspec.field(default_factory=list)
    builtin_pluma_installed: bool = False
    chub_api_url: str = "https://api.chub.ai"
    chub_avatars_url: str = "https://avatars.charhub.io"
