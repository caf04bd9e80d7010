"""Configuration keys owned by the personas plugin."""

from __future__ import annotations

import msgspec

DEFAULT_USER_NAME = "You"


class PersonaKeys(msgspec.Struct, kw_only=True):
    """``display_name``: fills ``{{user}}`` when no persona is attached (never "User")."""

    display_name: str = DEFAULT_USER_NAME
