"""Turn a card chunk's text (or a JSON file) into a JSON object, tolerating what tools emit.

Tolerated: base64 with or without padding, with line breaks, standard or URL-safe alphabet;
raw JSON instead of base64; UTF-8 that was stored or re-encoded as Latin-1; a UTF-8 BOM.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_B64 = re.compile(rb"[A-Za-z0-9+/_-]+={0,2}")
_WHITESPACE = re.compile(rb"\s+")
_BOM = "\ufeff"


class PayloadError(ValueError):
    """The text is neither base64 JSON nor raw JSON."""


def _unbase64(text: bytes) -> bytes | None:
    # Well-formed payloads (what SillyTavern and Pluma write) decode strictly in C; the tolerant
    # path below (line breaks, missing padding, URL-safe alphabet) is several times slower.
    if len(text) % 4 == 0:
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass
    compact = _WHITESPACE.sub(b"", text)
    if not compact or not _B64.fullmatch(compact):
        return None
    compact = compact.rstrip(b"=")
    compact += b"=" * (-len(compact) % 4)
    try:
        if b"-" in compact or b"_" in compact:
            return base64.urlsafe_b64decode(compact)
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 bytes that were read as Latin-1 (``Ã©`` -> ``é``), when that is what happened.

    Only applied when every character fits in Latin-1 and the bytes form valid UTF-8 with at
    least one multi-byte sequence; genuine Latin-1 prose almost never satisfies both.
    """
    if text.isascii():
        return text
    try:
        raw = text.encode("latin-1")
        fixed = raw.decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return fixed if fixed != text else text


def decode_text(raw: bytes) -> str:
    """Bytes of JSON text -> str: UTF-8 (BOM dropped), else Latin-1; mojibake repaired."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return repair_mojibake(text.lstrip(_BOM))


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """A JSON object from bytes (BOM, Latin-1 mix-ups tolerated); raises PayloadError."""
    text = decode_text(raw).strip()
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PayloadError(f"not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise PayloadError("the card JSON is not an object")
    return value


def parse_chunk_payload(raw: bytes) -> dict[str, Any]:
    """A card chunk's text: base64 of JSON, or raw JSON; raises PayloadError."""
    stripped = raw.strip()
    if stripped.startswith(b"\xef\xbb\xbf"):
        stripped = stripped[3:].lstrip()
    if stripped.startswith(b"{"):
        return parse_json_object(stripped)
    decoded = _unbase64(stripped)
    if decoded is None:
        raise PayloadError("card text is neither base64 nor JSON")
    return parse_json_object(decoded)
