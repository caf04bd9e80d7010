"""A PNG chunk walker: length, type, data, CRC. Never decodes pixels.

Pillow is not used to read cards: it stops at the first ``IDAT`` (SillyTavern writes card
chunks after it) and forces a full pixel decode to see later text chunks.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pluma_core.cards.limits import DEFAULT_LIMITS, CardLimits
from pluma_core.errors import PayloadTooLarge, Unprocessable

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEXT_TYPES = frozenset({b"tEXt", b"zTXt", b"iTXt"})
_HEAD = struct.Struct(">I4s")


@dataclass(frozen=True)
class Chunk:
    """One chunk as stored: ``raw`` is the whole record (length, type, data, CRC)."""

    type: bytes
    data: bytes
    raw: bytes


@dataclass(frozen=True)
class TextChunk:
    """A decoded text chunk. ``text`` is bytes: tEXt/zTXt are nominally Latin-1, iTXt UTF-8."""

    kind: bytes
    keyword: str
    text: bytes
    index: int


def is_png(data: bytes) -> bool:
    """True when ``data`` starts with the PNG signature."""
    return data.startswith(PNG_SIGNATURE)


def make_chunk(chunk_type: bytes, data: bytes) -> bytes:
    """Serialise one chunk with its CRC."""
    crc = zlib.crc32(chunk_type + data) & 0xFFFFFFFF
    return _HEAD.pack(len(data), chunk_type) + data + struct.pack(">I", crc)


def iter_chunks(data: bytes, limits: CardLimits = DEFAULT_LIMITS) -> Iterator[Chunk]:
    """Every chunk up to and including ``IEND``; raises 422 on a damaged file."""
    if not is_png(data):
        raise Unprocessable("not a PNG file")
    pos = len(PNG_SIGNATURE)
    end = len(data)
    while True:
        if pos + 8 > end:
            raise Unprocessable("truncated PNG: no IEND chunk")
        length, chunk_type = _HEAD.unpack_from(data, pos)
        if length > 0x7FFFFFFF:
            raise Unprocessable("corrupt PNG: impossible chunk length")
        if chunk_type in TEXT_TYPES and length > limits.chunk_bytes:
            raise PayloadTooLarge(f"PNG text chunk of {length} bytes exceeds {limits.chunk_bytes}")
        stop = pos + 12 + length
        if stop > end:
            raise Unprocessable(f"truncated PNG: chunk {chunk_type!r} runs past the end of the file")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(chunk_type + body) & 0xFFFFFFFF != crc:
            raise Unprocessable(f"corrupt PNG: CRC mismatch in a {chunk_type.decode('latin-1')} chunk")
        yield Chunk(chunk_type, body, data[pos:stop])
        pos = stop
        if chunk_type == b"IEND":
            return


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height from ``IHDR`` (the first chunk)."""
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise Unprocessable("corrupt PNG: IHDR is not the first chunk")
    width, height = struct.unpack_from(">II", data, 16)
    return width, height


def _inflate(payload: bytes, budget: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(payload, budget + 1)
    except zlib.error as exc:
        raise Unprocessable(f"corrupt compressed text chunk: {exc}") from exc
    if len(out) > budget or inflater.unconsumed_tail:
        raise PayloadTooLarge("card text inflates past the size cap")
    return out


def decode_text_chunk(chunk: Chunk, index: int, budget: int) -> TextChunk | None:
    """Keyword and raw text of a tEXt/zTXt/iTXt chunk; ``None`` when malformed."""
    keyword, sep, rest = chunk.data.partition(b"\0")
    if not sep or not 1 <= len(keyword) <= 79:
        return None
    name = keyword.decode("latin-1")
    if chunk.type == b"tEXt":
        return TextChunk(chunk.type, name, rest, index)
    if chunk.type == b"zTXt":
        if not rest or rest[0] != 0:
            return None
        return TextChunk(chunk.type, name, _inflate(rest[1:], budget), index)
    # iTXt: compression flag, method, language tag \0, translated keyword \0, text
    if len(rest) < 2:
        return None
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\0", 2)
    if len(parts) != 3:
        return None
    text = parts[2]
    if flag == 1:
        if method != 0:
            return None
        text = _inflate(text, budget)
    return TextChunk(chunk.type, name, text, index)


def card_text_chunks(
    data: bytes, keywords: frozenset[str], limits: CardLimits = DEFAULT_LIMITS
) -> list[TextChunk]:
    """Text chunks whose keyword (any case) is in ``keywords``, in file order, capped in total."""
    found: list[TextChunk] = []
    total = 0
    for index, chunk in enumerate(iter_chunks(data, limits)):
        if chunk.type not in TEXT_TYPES:
            continue
        keyword = chunk.data.partition(b"\0")[0].decode("latin-1").lower()
        if keyword not in keywords:
            continue
        text = decode_text_chunk(chunk, index, limits.text_bytes - total)
        if text is None:
            continue
        total += len(text.text)
        if total > limits.text_bytes:
            raise PayloadTooLarge("card text chunks exceed the size cap")
        found.append(text)
    return found


def scan_file_text_chunks(
    handle: BinaryIO, keywords: frozenset[str], limits: CardLimits = DEFAULT_LIMITS
) -> list[TextChunk]:
    """Like :func:`card_text_chunks` on an open file, seeking past image data (for listings).

    Only the text chunks are read and CRC-checked, so listing a folder of large card PNGs reads
    a few kilobytes per file.
    """
    if handle.read(8) != PNG_SIGNATURE:
        raise Unprocessable("not a PNG file")
    found: list[TextChunk] = []
    total = 0
    index = 0
    while True:
        head = handle.read(8)
        if len(head) < 8:
            raise Unprocessable("truncated PNG: no IEND chunk")
        length, chunk_type = _HEAD.unpack(head)
        if chunk_type == b"IEND":
            return found
        if length > 0x7FFFFFFF:
            raise Unprocessable("corrupt PNG: impossible chunk length")
        if chunk_type not in TEXT_TYPES:
            handle.seek(length + 4, 1)
            index += 1
            continue
        if length > limits.chunk_bytes:
            raise PayloadTooLarge(f"PNG text chunk of {length} bytes exceeds {limits.chunk_bytes}")
        body = handle.read(length)
        tail = handle.read(4)
        if len(body) < length or len(tail) < 4:
            raise Unprocessable("truncated PNG text chunk")
        if zlib.crc32(chunk_type + body) & 0xFFFFFFFF != struct.unpack(">I", tail)[0]:
            raise Unprocessable(f"corrupt PNG: CRC mismatch in a {chunk_type.decode('latin-1')} chunk")
        keyword = body.partition(b"\0")[0].decode("latin-1").lower()
        if keyword in keywords:
            text = decode_text_chunk(Chunk(chunk_type, body, b""), index, limits.text_bytes - total)
            if text is not None:
                total += len(text.text)
                if total > limits.text_bytes:
                    raise PayloadTooLarge("card text chunks exceed the size cap")
                found.append(text)
        index += 1
