"""The built-in Pluma character: its card (``pluma.json``) and a portrait drawn with Pillow.

The portrait is original: a feather on a gradient, drawn from code, so the package ships no
third-party art and no binary file.
"""

from __future__ import annotations

import functools
import io
import json
import math
from pathlib import Path

from PIL import Image, ImageDraw

from pluma_core.cards.model import Card
from pluma_core.cards.normalize import normalize

CARD_FILE = Path(__file__).with_name("pluma.json")
WIDTH, HEIGHT = 256, 384


def pluma_card() -> Card:
    """A fresh copy of the built-in card."""
    return normalize(json.loads(CARD_FILE.read_text("utf-8")))


def _gradient() -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT))
    top, bottom = (38, 28, 84), (150, 72, 140)
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        t = y / (HEIGHT - 1)
        draw.line([(0, y), (WIDTH, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return image


def _feather(draw: ImageDraw.ImageDraw) -> None:
    cx, top, bottom = WIDTH / 2, 60, 330
    length = bottom - top
    # The vane: two curved halves around a slanted shaft.
    for side in (-1, 1):
        points = []
        for i in range(41):
            t = i / 40
            y = top + t * length
            width = math.sin(math.pi * t ** 0.8) * 58 * (1 - 0.35 * t)
            points.append((cx + side * width + (t - 0.5) * 30, y))
        draw.polygon([(cx - 15, top), *points, (cx + 15, bottom)], fill=(245, 232, 250))
    for i in range(1, 14):
        y = top + i * length / 15
        x = cx + (i / 15 - 0.5) * 30
        draw.line([(x, y), (x - 46, y + 20)], fill=(205, 180, 225), width=2)
        draw.line([(x, y), (x + 46, y + 20)], fill=(205, 180, 225), width=2)
    draw.line([(cx - 15, top - 10), (cx + 22, bottom + 40)], fill=(120, 80, 150), width=4)


@functools.cache
def pluma_png() -> bytes:
    """The portrait as PNG bytes (drawn once per process)."""
    image = _gradient()
    _feather(ImageDraw.Draw(image))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
