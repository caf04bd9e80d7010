"""Read a card from the bytes of a PNG, JSON or CHARX file."""

from __future__ import annotations

from typing import Any, BinaryIO

from pluma_core.cards.charx import is_charx, read_charx
from pluma_core.cards.limits import DEFAULT_LIMITS, CardLimits
from pluma_core.cards.model import SPEC_V3, V1_FIELDS, Card, ParsedCard
from pluma_core.cards.normalize import normalize
from pluma_core.cards.payload import PayloadError, parse_chunk_payload, parse_json_object
from pluma_core.cards.png import (
    TextChunk,
    card_text_chunks,
    image_size,
    is_png,
    scan_file_text_chunks,
)
from pluma_core.errors import PayloadTooLarge, Unprocessable

CARD_KEYWORDS = frozenset({"chara", "ccv3"})
_COMPARED = (*V1_FIELDS, "system_prompt", "post_history_instructions", "alternate_greetings")


def check_pixels(width: int, height: int, limits: CardLimits) -> None:
    """422 when an image declares more pixels than we are willing to decode."""
    if width <= 0 or height <= 0:
        raise Unprocessable("image has no pixels")
    if width * height > limits.image_pixels:
        raise Unprocessable(
            f"image is {width}x{height} pixels; the limit is {limits.image_pixels:,} pixels"
        )


def _first_valid(chunks: list[TextChunk], keyword: str, warnings: list[str]) -> dict[str, Any] | None:
    for chunk in chunks:
        if chunk.keyword.lower() != keyword:
            continue
        try:
            obj = parse_chunk_payload(chunk.text)
        except PayloadError as exc:
            warnings.append(f"ignored an unreadable {keyword} chunk: {exc}")
            continue
        if keyword == "ccv3" and obj.get("spec") != SPEC_V3 and not isinstance(obj.get("data"), dict):
            warnings.append("ignored a ccv3 chunk that is not a chara_card_v3 card")
            continue
        return obj
    return None


def _date(card: Card) -> float:
    value = card.data.get("modification_date")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _choose(v3: Card, v2: Card, warnings: list[str]) -> Card:
    """Prefer ccv3; when the two disagree keep the newer one and say so."""
    if all(v3.data.get(k) == v2.data.get(k) for k in _COMPARED):
        return v3
    if _date(v2) > _date(v3):
        warnings.append(
            "the chara and ccv3 chunks disagree; kept chara, whose modification_date is newer"
        )
        return v2
    reason = "whose modification_date is newer" if _date(v3) > _date(v2) else "the newer format"
    warnings.append(f"the chara and ccv3 chunks disagree; kept ccv3, {reason}")
    return v3


def card_from_chunks(chunks: list[TextChunk], warnings: list[str]) -> Card:
    """The card carried by ``chunks`` (``chara``/``ccv3`` text chunks, file order)."""
    v3_obj = _first_valid(chunks, "ccv3", warnings)
    v2_obj = _first_valid(chunks, "chara", warnings)
    if v3_obj is None and v2_obj is None:
        if chunks:
            raise Unprocessable("the PNG's card chunk could not be decoded")
        raise Unprocessable("no character card in this PNG (no chara or ccv3 text chunk)")
    v3 = normalize(v3_obj, warnings) if v3_obj is not None else None
    v2 = normalize(v2_obj, warnings) if v2_obj is not None else None
    if v3 is not None and v2 is not None:
        return _choose(v3, v2, warnings)
    return v3 or v2  # type: ignore[return-value]


def read_png_card(data: bytes, limits: CardLimits = DEFAULT_LIMITS) -> ParsedCard:
    """A card from PNG bytes; the PNG itself is kept as the image."""
    check_pixels(*image_size(data), limits)
    warnings: list[str] = []
    card = card_from_chunks(card_text_chunks(data, CARD_KEYWORDS, limits), warnings)
    return ParsedCard(card=card, container="png", image=data, warnings=warnings)


def read_png_card_file(handle: BinaryIO, limits: CardLimits = DEFAULT_LIMITS) -> Card:
    """The card in an open PNG file, reading only its text chunks (for listings)."""
    return card_from_chunks(scan_file_text_chunks(handle, CARD_KEYWORDS, limits), [])


def read_json_card(data: bytes) -> ParsedCard:
    """A card from JSON bytes."""
    try:
        obj = parse_json_object(data)
    except PayloadError as exc:
        raise Unprocessable(f"not a character card: {exc}") from exc
    warnings: list[str] = []
    return ParsedCard(card=normalize(obj, warnings), container="json", warnings=warnings)


def read_card(data: bytes, limits: CardLimits = DEFAULT_LIMITS) -> ParsedCard:
    """Sniff PNG / CHARX / JSON from the bytes and read the card; 413/422 on bad input."""
    if len(data) > limits.file_bytes:
        raise PayloadTooLarge(f"card file is larger than {limits.file_bytes} bytes")
    if is_png(data):
        return read_png_card(data, limits)
    if is_charx(data):
        return read_charx(data, limits)
    head = data[:16].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return read_json_card(data)
    raise Unprocessable("unsupported card file: expected a PNG, JSON or CHARX card")
