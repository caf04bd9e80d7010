"""Any card JSON (V1 flat, V2, V3, mirrored, slightly off-spec) -> :class:`Card`."""

from __future__ import annotations

import copy
from typing import Any

from pluma_core.cards.model import (
    SPEC_V2,
    SPEC_V3,
    V1_FIELDS,
    V2_FIELDS,
    V2_STRING_FIELDS,
    V3_FIELDS,
    Card,
    SourceFormat,
)
from pluma_core.errors import Unprocessable

_IDENTIFYING = ("name", "description", "first_mes", "personality", "scenario", "mes_example")


def _spec_version_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fill_defaults(data: dict[str, Any], warnings: list[str]) -> None:
    """Required fields get their spec defaults; nulls and near-miss types are repaired."""
    for key in V2_STRING_FIELDS:
        value = data.get(key)
        if value is None:
            data[key] = ""
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            data[key] = str(value)
    for key in ("alternate_greetings", "group_only_greetings"):
        value = data.get(key)
        if value is None:
            data[key] = []
        elif isinstance(value, str):
            data[key] = [value] if value else []
    tags = data.get("tags")
    if tags is None:
        data["tags"] = []
    elif isinstance(tags, str):
        data["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
    extensions = data.get("extensions")
    if extensions is None:
        data["extensions"] = {}
    elif not isinstance(extensions, dict):
        warnings.append("data.extensions was not an object; kept under extensions.pluma_original")
        data["extensions"] = {"pluma_original": extensions}
    book = data.get("character_book")
    if isinstance(book, dict) and isinstance(book.get("entries"), dict):
        # chub and SillyTavern world-info exports key entries by uid; the card spec wants a list.
        entries = book["entries"]
        book["entries"] = [entries[k] for k in sorted(entries, key=lambda k: (len(str(k)), str(k)))]
        warnings.append("character_book.entries was an object; converted to a list")


def _from_v1(obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    data = {k: v for k, v in obj.items() if k in V2_FIELDS or k in V3_FIELDS}
    extras = {k: v for k, v in obj.items() if k not in data and k not in ("spec", "spec_version")}
    # SillyTavern's V1 exports keep these at the root; V2 readers look for them in data.
    if not data.get("creator_notes") and isinstance(obj.get("creatorcomment"), str):
        data["creator_notes"] = obj["creatorcomment"]
    extensions = data.setdefault("extensions", {})
    if isinstance(extensions, dict):
        for key in ("talkativeness", "fav"):
            if key in obj and key not in extensions:
                extensions[key] = copy.deepcopy(obj[key])
    return data, extras


def normalize(obj: dict[str, Any], warnings: list[str] | None = None) -> Card:
    """Build a Card from freshly parsed JSON (taken over, not copied: parsing big lorebooks twice
    would double listing time); raises 422 when it is not a character card at all."""
    notes = warnings if warnings is not None else []
    spec = obj.get("spec")
    raw_data = obj.get("data")
    if isinstance(raw_data, dict):
        data = raw_data
        extras: dict[str, Any] = {}
        for key, value in obj.items():
            if key in ("spec", "spec_version", "data"):
                continue
            if key in V1_FIELDS:
                # Mirrors for V1 readers: data wins; a field only at the root is adopted.
                if key not in data or data[key] in (None, ""):
                    data[key] = copy.deepcopy(value)
                continue
            if key in V2_FIELDS and key not in data:
                data[key] = copy.deepcopy(value)
            extras[key] = value
        source: SourceFormat = "v3" if spec == SPEC_V3 else "v2"
        if spec not in (SPEC_V2, SPEC_V3, None):
            notes.append(f"unknown spec {spec!r}; read as {SPEC_V2}")
    else:
        if not any(k in obj for k in _IDENTIFYING):
            raise Unprocessable("not a character card: no name, description or greeting")
        data, extras = _from_v1(obj)
        source = "v1"
    if not any(k in data for k in _IDENTIFYING):
        raise Unprocessable("not a character card: no name, description or greeting")
    raw_version = obj.get("spec_version")
    version = str(raw_version) if raw_version is not None else ("3.0" if source == "v3" else "2.0")
    number = _spec_version_number(raw_version)
    if source == "v3" and number is not None and number > 3.0:
        notes.append(f"card spec_version {raw_version} is newer than 3.0; imported anyway")
    _fill_defaults(data, notes)
    return Card(data=data, extras=extras, source_spec=source, spec_version=version)
