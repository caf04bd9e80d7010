"""Wire shapes of ``/api/characters``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from pluma_core.errors import BadRequest

Text = Annotated[str, msgspec.Meta(max_length=1_000_000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
TextList = Annotated[list[Text], msgspec.Meta(max_length=1000)]

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


class CardDataIn(msgspec.Struct, kw_only=True):
    """Types of the card fields a client may send in ``data`` (V2/V3). Fields left out keep their
    stored value; keys not listed here are kept as they are (cards carry app-specific data)."""

    name: Name | UnsetType = UNSET
    nickname: str | UnsetType | None = UNSET
    description: Text | UnsetType = UNSET
    personality: Text | UnsetType = UNSET
    scenario: Text | UnsetType = UNSET
    first_mes: Text | UnsetType = UNSET
    mes_example: Text | UnsetType = UNSET
    creator_notes: Text | UnsetType = UNSET
    system_prompt: Text | UnsetType = UNSET
    post_history_instructions: Text | UnsetType = UNSET
    alternate_greetings: TextList | UnsetType = UNSET
    group_only_greetings: TextList | UnsetType = UNSET
    tags: TextList | UnsetType = UNSET
    creator: Text | UnsetType = UNSET
    character_version: Text | UnsetType = UNSET
    character_book: dict[str, Any] | UnsetType | None = UNSET
    extensions: dict[str, Any] | UnsetType = UNSET
    creation_date: int | float | UnsetType | None = UNSET
    modification_date: int | float | UnsetType | None = UNSET


def check_card_data(data: object, *, creating: bool) -> dict[str, Any]:
    """``data`` as a dict whose known card fields have the right types (400 otherwise)."""
    if not isinstance(data, dict):
        raise BadRequest('the body must be a card object with a "data" object')
    try:
        checked = msgspec.convert(data, CardDataIn)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid card field: {str(exc).replace('$.', 'data.')}") from exc
    if creating and checked.name is UNSET:
        raise BadRequest("a new character needs data.name")
    return data
