"""Caps that keep a hostile card from exhausting memory: over one, a clear 413/422."""

from __future__ import annotations

from dataclasses import dataclass

from pluma_core.limits import CARD_BODY_MAX, MIB


@dataclass(frozen=True)
class CardLimits:
    """Size limits applied while reading a card file."""

    file_bytes: int = CARD_BODY_MAX
    """Whole file (PNG, JSON or CHARX)."""
    chunk_bytes: int = 16 * MIB
    """One PNG text chunk, as stored (image chunks are bounded by ``file_bytes`` only)."""
    text_bytes: int = 16 * MIB
    """All card text chunks together after inflating zTXt/iTXt, and CHARX ``card.json``."""
    image_pixels: int = 40_000_000
    """Width x height an image may declare before we refuse to decode it (about 6300 x 6300)."""


DEFAULT_LIMITS = CardLimits()
