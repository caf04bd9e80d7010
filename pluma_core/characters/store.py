"""The character library: ``<datadir>/characters/`` (editable) plus ``card_dirs`` (read-only).

The listing is a directory scan; each file's summary is cached by (size, mtime), so dropping a
card into the folder shows it on the next list and a warm listing only calls ``stat``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pluma_core.cards.avatar_cache import AvatarCache
from pluma_core.cards.files import CARD_SUFFIXES, file_id, read_card_file, slug, write_card_file
from pluma_core.cards.images import avatar_png
from pluma_core.cards.model import ROOT_META, V1_FIELDS, Card, ParsedCard
from pluma_core.cards.writer import card_json
from pluma_core.errors import Forbidden, NotFound, PlumaError
from pluma_core.ids import validate_id

from .schemas import RESPONSE_KEYS, CharacterSummary, check_card_data

log = logging.getLogger("pluma.characters")

Source = Literal["local", "ext", "builtin"]
BUILTIN_ID = "pluma"
_EXCERPT = 200


@dataclass(frozen=True)
class Entry:
    """Where one card lives."""

    id: str
    path: Path
    source: Source

    @property
    def readonly(self) -> bool:
        """External cards are never written."""
        return self.source == "ext"

    @property
    def has_avatar(self) -> bool:
        """PNG cards carry their avatar; JSON cards have none yet."""
        return self.path.suffix.lower() == ".png"


def _excerpt(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1].rstrip() + "…"


def _base(path: Path) -> Path:
    return path.with_name(path.stem)


def _drop_replaced(old: Path, new: Path) -> None:
    """A card rewritten under another name (``X.PNG`` -> ``X.png``) leaves no twin behind."""
    if old != new:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()


def _card_files(folder: Path) -> list[Path]:
    """``*.png`` and ``*.json`` in ``folder`` (not recursive); a PNG wins over a same-stem JSON."""
    if not folder.is_dir():
        return []
    chosen: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in CARD_SUFFIXES or path.name.startswith(".") or not path.is_file():
            continue
        if path.stem in chosen and suffix != ".png":
            continue
        chosen[path.stem] = path
    return list(chosen.values())


class CharacterStore:
    """Reads, lists and writes character cards. ``card_dirs`` is read on every scan."""

    def __init__(self, folder: Path, card_dirs: Callable[[], list[str]], cache: AvatarCache) -> None:
        self.folder = folder
        self._card_dirs = card_dirs
        self.avatars = cache
        self._summaries: dict[Path, tuple[tuple[int, int], CharacterSummary | None]] = {}
        self._entries: dict[str, Entry] = {}
        self._lock = threading.Lock()

    # -- locating ------------------------------------------------------------------------------
    def _scan(self) -> list[Entry]:
        entries: list[Entry] = []
        for path in _card_files(self.folder):
            cid = file_id(path)
            entries.append(Entry(cid, path, "builtin" if cid == BUILTIN_ID else "local"))
        for raw_dir in self._card_dirs():
            folder = Path(raw_dir).expanduser()
            tag = hashlib.sha256(str(folder).encode("utf-8", "surrogateescape")).hexdigest()[:8]
            for path in _card_files(folder):
                entries.append(Entry(f"ext-{tag}-{file_id(path)}"[:64], path, "ext"))
        self._entries = {e.id: e for e in entries}
        return entries

    def entry(self, card_id: str) -> Entry:
        """The file behind ``card_id``; 400 for a malformed id, 404 for an unknown one."""
        validate_id(card_id, "character id")
        for suffix in CARD_SUFFIXES:
            path = self.folder / f"{card_id}{suffix}"
            if path.is_file():
                return Entry(card_id, path, "builtin" if card_id == BUILTIN_ID else "local")
        found = self._entries.get(card_id)
        if found is None or not found.path.is_file():
            found = {e.id: e for e in self._scan()}.get(card_id)
        if found is None:
            raise NotFound(f"no character {card_id!r}")
        return found

    def writable(self, card_id: str) -> Entry:
        """The entry, or 403 for a read-only external card."""
        found = self.entry(card_id)
        if found.readonly:
            raise Forbidden(
                "this card is in a read-only card folder (card_dirs); copy it into the characters "
                "folder to edit it"
            )
        return found

    # -- reading -------------------------------------------------------------------------------
    def _summary(self, entry: Entry) -> CharacterSummary | None:
        stat = entry.path.stat()
        key = (stat.st_size, stat.st_mtime_ns)
        cached = self._summaries.get(entry.path)
        if cached is not None and cached[0] == key:
            summary = cached[1]
            return None if summary is None else copy.copy(summary)
        try:
            card = read_card_file(entry.path)
        except (PlumaError, OSError) as exc:
            log.warning("skipping unreadable card %s: %s", entry.path.name, getattr(exc, "message", exc))
            self._summaries[entry.path] = (key, None)
            return None
        data = card.data
        summary = CharacterSummary(
            id=entry.id,
            name=card.name,
            description_excerpt=_excerpt(data.get("description")),
            tags=[t for t in data.get("tags", []) if isinstance(t, str)],
            creator=data.get("creator") if isinstance(data.get("creator"), str) else "",
            has_avatar=entry.has_avatar,
            avatar_url=f"/api/characters/{entry.id}/avatar" if entry.has_avatar else None,
            readonly=entry.readonly,
            source=entry.source,
            updated_at=stat.st_mtime,
        )
        self._summaries[entry.path] = (key, summary)
        return copy.copy(summary)

    def list(self) -> list[CharacterSummary]:
        """Summaries of every readable card (no lorebooks), sorted by name."""
        summaries = [s for e in self._scan() if (s := self._summary(e)) is not None]
        return sorted(summaries, key=lambda s: (s.name.casefold(), s.id))

    def card(self, card_id: str) -> tuple[Entry, Card]:
        """One whole card."""
        found = self.entry(card_id)
        return found, read_card_file(found.path)

    def describe(self, entry: Entry, card: Card, warnings: list[str] | None = None) -> dict[str, Any]:
        """The API shape of a whole card: the card JSON plus our keys (see schemas)."""
        version = "v3" if card.source_spec == "v3" else "v2"
        out: dict[str, Any] = card_json(card, version)
        out.update(
            id=entry.id,
            readonly=entry.readonly,
            has_avatar=entry.has_avatar,
            avatar_url=f"/api/characters/{entry.id}/avatar" if entry.has_avatar else None,
            source=entry.source,
            updated_at=entry.path.stat().st_mtime,
        )
        if warnings:
            out["warnings"] = warnings
        return out

    # -- writing -------------------------------------------------------------------------------
    def _new_id(self, name: str) -> str:
        while True:
            candidate = f"{slug(name)}-{secrets.token_hex(3)}"
            if not any((self.folder / f"{candidate}{s}").exists() for s in CARD_SUFFIXES):
                return candidate

    def add(self, parsed: ParsedCard) -> Entry:
        """Store an imported card under a fresh id: a PNG when it brought an image, else JSON."""
        png = parsed.image if parsed.container == "png" else None
        if parsed.image is not None and png is None:
            png = avatar_png(parsed.image)
        with self._lock:
            card_id = self._new_id(parsed.card.name)
            path = write_card_file(self.folder / card_id, parsed.card, png)
        return Entry(card_id, path, "local")

    def install(self, card_id: str, card: Card, png: bytes | None) -> Entry:
        """Write a card under a fixed id (the built-in character)."""
        with self._lock:
            path = write_card_file(self.folder / validate_id(card_id), card, png)
        return Entry(card_id, path, "builtin" if card_id == BUILTIN_ID else "local")

    def update(self, card_id: str, body: dict[str, Any]) -> tuple[Entry, Card]:
        """Merge ``body`` (``{"data": {...}, other root keys}``) into the stored card."""
        data = check_card_data(body.get("data"), creating=False)
        with self._lock:
            found = self.writable(card_id)
            card = read_card_file(found.path)
            card.data.update(copy.deepcopy(data))
            for key, value in body.items():
                if key in ROOT_META or key in V1_FIELDS:
                    continue
                if key in RESPONSE_KEYS and key not in card.extras:
                    continue
                card.extras[key] = copy.deepcopy(value)
            path = write_card_file(_base(found.path), card, None)
            _drop_replaced(found.path, path)
        return Entry(found.id, path, found.source), card

    def set_avatar(self, card_id: str, image: bytes) -> tuple[Entry, Card]:
        """Replace the avatar; the card is re-embedded and a JSON card becomes a PNG."""
        png = avatar_png(image)
        with self._lock:
            found = self.writable(card_id)
            card = read_card_file(found.path)
            path = write_card_file(_base(found.path), card, png)
            _drop_replaced(found.path, path)
        self.avatars.drop("characters", found.id)
        return Entry(found.id, path, found.source), card

    def delete(self, card_id: str) -> None:
        """Remove a local card (403 for external ones)."""
        with self._lock:
            found = self.writable(card_id)
            for suffix in CARD_SUFFIXES:
                with contextlib.suppress(FileNotFoundError):
                    _base(found.path).with_name(found.path.stem + suffix).unlink()
        self._summaries.pop(found.path, None)
        self.avatars.drop("characters", found.id)
