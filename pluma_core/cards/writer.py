"""Write cards other tools read: JSON objects, and PNGs with both ``chara`` and ``ccv3`` chunks.

Both chunks come from one card: ``chara`` is the V2 form, ``ccv3`` the same object with the V3
``spec``/``spec_version`` (as SillyTavern writes them), so the two never disagree. They are
``tEXt`` chunks with base64 text, placed just before ``IEND``; every older card chunk, in any of
the three text chunk types and any keyword case, is removed first.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Literal

from pluma_core.cards.model import SPEC_V2, SPEC_V3, V1_FIELDS, Card
from pluma_core.cards.png import TEXT_TYPES, iter_chunks, make_chunk

_CARD_KEYWORDS = frozenset({"chara", "ccv3"})


def card_json(card: Card, version: Literal["v2", "v3"]) -> dict[str, Any]:
    """The card as a JSON object: V1 mirrors (for V1 readers), other root keys, spec, data."""
    out: dict[str, Any] = {k: card.data.get(k, "") for k in V1_FIELDS}
    out.update(card.extras)
    if version == "v3":
        out["spec"] = SPEC_V3
        out["spec_version"] = card.spec_version if card.source_spec == "v3" else "3.0"
    else:
        out["spec"] = SPEC_V2
        out["spec_version"] = "2.0"
    out["data"] = card.data
    return out


def encode_chunk_text(obj: dict[str, Any]) -> bytes:
    """base64 of the compact UTF-8 JSON."""
    raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(raw)


def card_chunks(card: Card) -> bytes:
    """The two serialised ``tEXt`` chunks (``chara`` then ``ccv3``)."""
    return make_chunk(b"tEXt", b"chara\0" + encode_chunk_text(card_json(card, "v2"))) + make_chunk(
        b"tEXt", b"ccv3\0" + encode_chunk_text(card_json(card, "v3"))
    )


def _is_card_chunk(chunk_type: bytes, data: bytes) -> bool:
    if chunk_type not in TEXT_TYPES:
        return False
    return data.partition(b"\0")[0].decode("latin-1").lower() in _CARD_KEYWORDS


def embed_card(png: bytes, card: Card) -> bytes:
    """``png`` with its card chunks replaced by fresh ``chara`` and ``ccv3`` chunks."""
    parts = [png[:8]]
    for chunk in iter_chunks(png):
        if chunk.type == b"IEND":
            parts.append(card_chunks(card))
            parts.append(chunk.raw)
            break
        if not _is_card_chunk(chunk.type, chunk.data):
            parts.append(chunk.raw)
    return b"".join(parts)


def card_json_bytes(card: Card) -> bytes:
    """A ``.json`` card file: V3 for a V3 card, else V2 (which every tool reads)."""
    version: Literal["v2", "v3"] = "v3" if card.source_spec == "v3" else "v2"
    return json.dumps(card_json(card, version), ensure_ascii=False, indent=2).encode("utf-8")
