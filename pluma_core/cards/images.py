"""Avatar images with Pillow: type sniffing, upload preparation, and resized copies.

Pillow is only used for avatars (never to read card text). Every decode is preceded by a
header-only size check so an image bomb is refused before any pixel is allocated.
"""

from __future__ import annotations

import io
import warnings
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from pluma_core.cards.limits import DEFAULT_LIMITS, CardLimits
from pluma_core.cards.reader import check_pixels
from pluma_core.errors import PlumaError, Unprocessable

ImageKind = Literal["png", "jpeg", "webp", "gif"]
MEDIA_TYPES: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}
AVATAR_MAX_SIDE = 1024
AVATAR_WIDTHS = (64, 128, 256, 512, 1024)
"""``?w=`` is rounded up to one of these, so the disk cache holds a handful of sizes."""


class UnsupportedMediaType(PlumaError):
    """415: the bytes are not an accepted image type."""

    status_code = 415


def sniff_image(data: bytes) -> ImageKind | None:
    """The image type from magic bytes (never from a file name or a header)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def clamp_width(width: int) -> int:
    """The smallest allowed width at least ``width`` (the largest when above them all)."""
    for allowed in AVATAR_WIDTHS:
        if width <= allowed:
            return allowed
    return AVATAR_WIDTHS[-1]


def _open_checked(data: bytes, limits: CardLimits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Unprocessable(f"unreadable image: {exc}") from exc
    check_pixels(image.width, image.height, limits)
    return image


def check_image(data: bytes, limits: CardLimits = DEFAULT_LIMITS) -> ImageKind | None:
    """The sniffed kind of an image we are willing to store and serve, without decoding pixels.

    ``None`` for bytes that are not an image at all; 422 for a declared size over the pixel cap
    or a file whose structure is broken (truncated, bad chunk CRCs).
    """
    kind = sniff_image(data)
    if kind is None:
        return None
    image = _open_checked(data, limits)
    try:
        image.verify()
    except Exception as exc:  # Pillow raises many types for damaged files
        raise Unprocessable(f"damaged {kind.upper()} image: {exc}") from exc
    return kind


def _decode(image: Image.Image) -> Image.Image:
    try:
        image.load()
        oriented = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise Unprocessable(f"unreadable image: {exc}") from exc
    if oriented.mode not in ("RGB", "RGBA"):
        has_alpha = "A" in oriented.mode or "transparency" in oriented.info
        oriented = oriented.convert("RGBA" if has_alpha else "RGB")
    return oriented


def avatar_png(
    data: bytes,
    accepted: tuple[ImageKind, ...] = ("png", "jpeg", "webp"),
    limits: CardLimits = DEFAULT_LIMITS,
) -> bytes:
    """An uploaded image -> an upright PNG whose longer side is at most 1024 px (no upscaling)."""
    kind = sniff_image(data)
    if kind not in accepted:
        names = ", ".join(k.upper() for k in accepted)
        raise UnsupportedMediaType(f"avatar must be one of: {names} (checked from the file's bytes)")
    image = _decode(_open_checked(data, limits))
    image.thumbnail((AVATAR_MAX_SIDE, AVATAR_MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


RESIZED_MAX_ASPECT = 4
"""A resized avatar is at most this many times as tall as it is wide: a 1x100000 strip would
otherwise become a 64x6,400,000 image."""


def resized(data: bytes, width: int, limits: CardLimits = DEFAULT_LIMITS) -> bytes:
    """A PNG copy at most ``width`` px wide and ``4 x width`` tall (never upscaled), upright."""
    image = _decode(_open_checked(data, limits))
    image.thumbnail((width, width * RESIZED_MAX_ASPECT), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()
