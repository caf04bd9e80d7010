"""The in-memory card: a V2/V3 ``data`` object plus every other root key, kept verbatim.

Normalising never drops anything: unknown root keys land in ``extras``, unknown ``data`` keys
and every ``extensions`` key stay in ``data``. The V1 fields mirrored at the root by older
writers are regenerated from ``data`` on write, so an edit never leaves a stale mirror behind.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

SPEC_V2 = "chara_card_v2"
SPEC_V3 = "chara_card_v3"

V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
V2_STRING_FIELDS = (
    *V1_FIELDS, "creator_notes", "system_prompt", "post_history_instructions", "creator", "character_version",
)
V2_FIELDS = (*V2_STRING_FIELDS, "alternate_greetings", "character_book", "tags", "extensions")
V3_FIELDS = (
    "assets", "nickname", "creator_notes_multilingual", "source", "group_only_greetings",
    "creation_date", "modification_date",
)
ROOT_META = ("spec", "spec_version", "data")

SourceFormat = Literal["v1", "v2", "v3"]


@dataclass
class Card:
    """A normalised card. ``data`` is the V2/V3 data object; ``extras`` the other root keys."""

    data: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)
    source_spec: SourceFormat = "v2"
    spec_version: str = "2.0"

    @property
    def name(self) -> str:
        """The card's name ("" when it has none)."""
        value = self.data.get("name")
        return value if isinstance(value, str) else ""

    def copy(self) -> Card:
        """A deep copy (edits never touch a cached card)."""
        return Card(copy.deepcopy(self.data), copy.deepcopy(self.extras), self.source_spec, self.spec_version)


@dataclass
class ParsedCard:
    """What reading a file gave: the card, its container, an image to keep, and warnings."""

    card: Card
    container: Literal["png", "json", "charx"]
    image: bytes | None = None
    warnings: list[str] = field(default_factory=list)
