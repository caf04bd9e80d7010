"""Tavern character cards: PNG chunks, payload decoding, V1/V2/V3 normalising, writing, CHARX.

A library for the characters and personas plugins (no HTTP here). Entry points:
:func:`read_card` (bytes of a PNG, JSON or CHARX file -> :class:`ParsedCard`) and
:func:`embed_card` (PNG bytes + card -> share-ready PNG with ``chara`` and ``ccv3`` chunks).
"""

from pluma_core.cards.limits import CardLimits
from pluma_core.cards.model import Card, ParsedCard
from pluma_core.cards.reader import read_card
from pluma_core.cards.writer import card_json, embed_card

__all__ = ["Card", "CardLimits", "ParsedCard", "card_json", "embed_card", "read_card"]
