"""Build card files byte by byte for tests: PNGs with chosen chunks, in a chosen order."""

from __future__ import annotations

import base64
import io
import json
import zlib
from collections.abc import Sequence
from typing import Any

from PIL import Image

from pluma_core.cards.png import PNG_SIGNATURE, make_chunk


def tiny_image(width: int = 8, height: int = 12, color: tuple[int, int, int] = (200, 80, 40), fmt: str = "PNG",
               **save: Any) -> bytes:
    """A small real image made with Pillow."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format=fmt, **save)
    return out.getvalue()


def b64(obj: Any) -> bytes:
    """base64 of the UTF-8 JSON of ``obj``."""
    return base64.b64encode(json.dumps(obj, ensure_ascii=False).encode("utf-8"))


def text_chunk(keyword: str, text: bytes) -> bytes:
    """A ``tEXt`` chunk."""
    return make_chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + text)


def ztxt_chunk(keyword: str, text: bytes) -> bytes:
    """A ``zTXt`` chunk (zlib-compressed text)."""
    return make_chunk(b"zTXt", keyword.encode("latin-1") + b"\0\0" + zlib.compress(text))


def itxt_chunk(keyword: str, text: bytes, compressed: bool = False) -> bytes:
    """An ``iTXt`` chunk (UTF-8 text, optionally compressed)."""
    body = zlib.compress(text) if compressed else text
    flag = b"\1\0" if compressed else b"\0\0"
    return make_chunk(b"iTXt", keyword.encode("latin-1") + b"\0" + flag + b"en\0\0" + body)


def split_png(png: bytes) -> tuple[bytes, bytes, bytes]:
    """``(IHDR chunk, everything between IHDR and IEND, IEND chunk)`` of a Pillow PNG."""
    ihdr_end = 8 + 25
    return png[8:ihdr_end], png[ihdr_end:-12], png[-12:]


def png_with(before_idat: Sequence[bytes] = (), after_idat: Sequence[bytes] = (), image: bytes | None = None) -> bytes:
    """A valid PNG with extra chunks placed before and after the image data."""
    ihdr, middle, iend = split_png(image or tiny_image())
    return PNG_SIGNATURE + ihdr + b"".join(before_idat) + middle + b"".join(after_idat) + iend


def v2_card(name: str = "Tester", **data: Any) -> dict[str, Any]:
    """A minimal V2 card object."""
    return {"spec": "chara_card_v2", "spec_version": "2.0",
            "data": {"name": name, "description": f"{name} description", "first_mes": "Hi {{user}}", **data}}


def v3_card(name: str = "Tester", **data: Any) -> dict[str, Any]:
    """A minimal V3 card object."""
    card = v2_card(name, group_only_greetings=[], **data)
    card.update(spec="chara_card_v3", spec_version="3.0")
    return card


def card_png(card: dict[str, Any], keyword: str = "chara", image: bytes | None = None) -> bytes:
    """A PNG carrying ``card`` in one base64 ``tEXt`` chunk after the image data."""
    return png_with(after_idat=[text_chunk(keyword, b64(card))], image=image)
