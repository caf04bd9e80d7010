"""Wire shapes of ``/api/characters``."""

from __future__ import annotations

from typing import Literal

import msgspec

RESPONSE_KEYS = frozenset(
    {"id", "readonly", "has_avatar", "avatar_url", "source", "updated_at", "warnings", "status"}
)
"""Keys the API adds next to the card's own root keys; ignored when a card is PUT back."""


class CharacterSummary(msgspec.Struct, kw_only=True):
    """One row of the character list (no lorebook, no long texts)."""

    id: str
    name: str
    description_excerpt: str
    tags: list[str]
    creator: str
    has_avatar: bool
    avatar_url: str | None
    readonly: bool
    source: Literal["local", "ext", "builtin"]
    updated_at: float
    status: Literal["generating", "ready", "error"] | None = None


class ImportUrlIn(msgspec.Struct, kw_only=True):
    """``POST /api/characters/import-url``."""

    url: str


class AvatarStatus(msgspec.Struct, kw_only=True):
    """Portrait job state for one character."""

    status: Literal["none", "pending", "running", "done", "failed"]
    job_id: str | None = None
    error: str | None = None
    progress: float | None = None


class SearchResult(msgspec.Struct, kw_only=True):
    """One chub.ai search hit."""

    full_path: str
    name: str
    tagline: str
    avatar_url: str | None
    tags: list[str]
    downloads: int
    stars: int
    import_url: str


class SearchPage(msgspec.Struct, kw_only=True):
    """``GET /api/characters/search``."""

    results: list[SearchResult]
    page: int
    has_more: bool
    count: int | None = None
