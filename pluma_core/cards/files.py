"""Card files in a folder: ``<id>.png`` (share-ready, card embedded) or ``<id>.json``.

Shared by the characters and personas stores. Every write is atomic; writing a PNG removes the
JSON twin (the card was promoted when it got an avatar).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path

from pluma_core.cards.limits import DEFAULT_LIMITS, CardLimits
from pluma_core.cards.model import Card
from pluma_core.cards.reader import read_json_card, read_png_card_file
from pluma_core.cards.writer import card_json_bytes, embed_card
from pluma_core.errors import PayloadTooLarge
from pluma_core.ids import is_valid_id
from pluma_core.storage.atomic import atomic_write

CARD_SUFFIXES = (".png", ".json")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def file_id(path: Path) -> str:
    """The id of a card file: its stem when that is a valid id, else a sanitised stem + hash."""
    if is_valid_id(path.stem):
        return path.stem
    digest = hashlib.sha256(path.name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    base = _UNSAFE.sub("_", path.stem).strip("_")[:48] or "card"
    return f"{base}-{digest}"


def slug(text: str, length: int = 40) -> str:
    """A readable id prefix from a name (``"Flux the Cat"`` -> ``"flux-the-cat"``)."""
    base = _UNSAFE.sub("-", text.lower()).strip("-_")
    return base[:length].strip("-_") or "card"


def read_card_file(path: Path, limits: CardLimits = DEFAULT_LIMITS) -> Card:
    """The card in a ``.png`` (text chunks only) or ``.json`` file."""
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise PayloadTooLarge(f"{path.name} is larger than {limits.file_bytes} bytes")
    if path.suffix.lower() == ".png":
        with path.open("rb") as handle:
            return read_png_card_file(handle, limits)
    return read_json_card(path.read_bytes()).card


def write_card_file(base: Path, card: Card, png: bytes | None) -> Path:
    """Write the card next to ``base`` (a path without suffix): ``<base>.png`` when ``png`` is
    given (that image with the card embedded) or a PNG already exists (re-embedded), else
    ``<base>.json``. A PNG replaces its JSON twin, so one file holds the card."""
    png_path = base.with_name(base.name + ".png")
    json_path = base.with_name(base.name + ".json")
    if png is None and png_path.exists():
        png = png_path.read_bytes()
    if png is not None:
        atomic_write(png_path, embed_card(png, card), mode=0o644)
        with contextlib.suppress(FileNotFoundError):
            json_path.unlink()
        return png_path
    atomic_write(json_path, card_json_bytes(card), mode=0o644)
    return json_path
