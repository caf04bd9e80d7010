"""Personas as portable Tavern V2 cards: ``personas/<id>.png`` (with avatar) or ``<id>.json``.

The card carries ``data.extensions.pluma = {"kind": "persona"}``; the name is ``data.name`` and
the description ``data.description``. Other fields of a card edited elsewhere are kept.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from pluma_core.cards.avatar_cache import AvatarCache
from pluma_core.cards.files import CARD_SUFFIXES, read_card_file, write_card_file
from pluma_core.cards.images import avatar_png
from pluma_core.cards.model import Card
from pluma_core.cards.normalize import normalize
from pluma_core.errors import BadRequest, NotFound, PlumaError
from pluma_core.ids import validate_id

from .schemas import Persona, PersonaIn

PERSONA_EXTENSION = {"kind": "persona"}
AVATAR_TYPES = ("png", "jpeg")


def _mark(card: Card) -> None:
    pluma_ext = card.data["extensions"].get("pluma")
    if not isinstance(pluma_ext, dict):
        pluma_ext = {}
    card.data["extensions"]["pluma"] = {**pluma_ext, **PERSONA_EXTENSION}


class PersonaStore:
    """Reads and writes persona cards in one folder."""

    def __init__(self, folder: Path, cache: AvatarCache, display_name: Callable[[], str]) -> None:
        self.folder = folder
        self.avatars = cache
        self.display_name = display_name
        """The global user name (config ``display_name``) for chats with no persona."""
        self._lock = threading.Lock()

    def path(self, persona_id: str) -> Path | None:
        """The persona's file, or ``None``; 400 for a malformed id."""
        validate_id(persona_id, "persona id")
        for suffix in CARD_SUFFIXES:
            candidate = self.folder / f"{persona_id}{suffix}"
            if candidate.is_file():
                return candidate
        return None

    def _require(self, persona_id: str) -> Path:
        found = self.path(persona_id)
        if found is None:
            raise NotFound(f"no persona {persona_id!r}")
        return found

    @staticmethod
    def _record(persona_id: str, path: Path, card: Card) -> Persona:
        has_avatar = path.suffix == ".png"
        description = card.data.get("description")
        return Persona(
            id=persona_id,
            name=card.name,
            description=description if isinstance(description, str) else "",
            has_avatar=has_avatar,
            avatar_url=f"/api/personas/{persona_id}/avatar" if has_avatar else None,
            updated_at=path.stat().st_mtime,
        )

    def get(self, persona_id: str) -> Persona:
        """One persona."""
        path = self._require(persona_id)
        return self._record(persona_id, path, read_card_file(path))

    def list(self) -> list[Persona]:
        """Every readable persona, by name."""
        out: list[Persona] = []
        if self.folder.is_dir():
            for path in sorted(self.folder.iterdir()):
                if path.suffix not in CARD_SUFFIXES or path.name.startswith("."):
                    continue
                if path.suffix == ".json" and path.with_suffix(".png").exists():
                    continue
                with contextlib.suppress(PlumaError, OSError):
                    out.append(self._record(path.stem, path, read_card_file(path)))
        return sorted(out, key=lambda p: (p.name.casefold(), p.id))

    def put(self, persona_id: str, body: PersonaIn) -> Persona:
        """Create or update; the name must not be blank."""
        name = body.name.strip()
        if not name:
            raise BadRequest("a persona needs a name")
        with self._lock:
            existing = self.path(persona_id)
            if existing is not None:
                card = read_card_file(existing)
            else:
                card = normalize({"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": name}})
            card.data["name"] = name
            card.data["description"] = body.description
            _mark(card)
            path = write_card_file(self.folder / persona_id, card, None)
        return self._record(persona_id, path, card)

    def set_avatar(self, persona_id: str, image: bytes) -> Persona:
        """Replace the avatar (PNG or JPEG); the persona card becomes ``<id>.png``."""
        png = avatar_png(image, accepted=AVATAR_TYPES)
        with self._lock:
            card = read_card_file(self._require(persona_id))
            _mark(card)
            path = write_card_file(self.folder / persona_id, card, png)
        self.avatars.drop("personas", persona_id)
        return self._record(persona_id, path, card)

    def card(self, persona_id: str) -> Card | None:
        """The persona's card (for the prompt builder), or ``None`` when it is unknown."""
        path = self.path(persona_id)
        return read_card_file(path) if path is not None else None

    def delete(self, persona_id: str) -> None:
        """Remove a persona (conversations that use it fall back to no persona)."""
        with self._lock:
            self._require(persona_id)
            for suffix in CARD_SUFFIXES:
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / f"{persona_id}{suffix}").unlink()
        self.avatars.drop("personas", persona_id)
