"""Wire shapes of ``/api/personas``."""

from __future__ import annotations

from typing import Annotated

import msgspec


class PersonaIn(msgspec.Struct, kw_only=True):
    """``PUT /api/personas/{id}``: name required (not blank), description optional."""

    name: Annotated[str, msgspec.Meta(max_length=256)]
    description: Annotated[str, msgspec.Meta(max_length=100_000)] = ""


class Persona(msgspec.Struct, kw_only=True):
    """A persona: who the user is in a chat."""

    id: str
    name: str
    description: str
    has_avatar: bool
    avatar_url: str | None
    updated_at: float
