"""CHARX (``.charx``): a ZIP with ``card.json`` at its root and assets beside it."""

from __future__ import annotations

import io
import zipfile

from pluma_core.cards.limits import CardLimits
from pluma_core.cards.model import ParsedCard
from pluma_core.cards.normalize import normalize
from pluma_core.cards.payload import PayloadError, parse_json_object
from pluma_core.errors import PayloadTooLarge, Unprocessable

_ZIP_MAGIC = b"PK\x03\x04"
_EMBEDDED_PREFIXES = ("embeded://", "embedded://", "__asset:")


def is_charx(data: bytes) -> bool:
    """A ZIP, or a self-extracting archive with a ZIP inside its first megabyte."""
    return data.startswith(_ZIP_MAGIC) or (_ZIP_MAGIC in data[: 1 << 20] and data.startswith(b"MZ"))


def _read_member(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise Unprocessable("encrypted CHARX archives are not supported")
    if info.file_size > cap:
        raise PayloadTooLarge(f"CHARX member {name!r} is larger than {cap} bytes")
    with archive.open(info) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise PayloadTooLarge(f"CHARX member {name!r} is larger than {cap} bytes")
    return data


def _main_icon(card_assets: object) -> str | None:
    if not isinstance(card_assets, list):
        return None
    icons = [a for a in card_assets if isinstance(a, dict) and a.get("type") == "icon"]
    chosen = next((a for a in icons if a.get("name") == "main"), icons[0] if icons else None)
    uri = chosen.get("uri") if chosen else None
    if not isinstance(uri, str):
        return None
    for prefix in _EMBEDDED_PREFIXES:
        if uri.startswith(prefix):
            return uri[len(prefix):]
    return None


def read_charx(data: bytes, limits: CardLimits) -> ParsedCard:
    """The card from ``card.json`` and, when embedded, its main icon as the image."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data[data.find(_ZIP_MAGIC):]))
    except zipfile.BadZipFile as exc:
        raise Unprocessable(f"corrupt CHARX archive: {exc}") from exc
    with archive:
        if "card.json" not in archive.namelist():
            raise Unprocessable("CHARX archive has no card.json")
        try:
            obj = parse_json_object(_read_member(archive, "card.json", limits.text_bytes))
        except PayloadError as exc:
            raise Unprocessable(f"CHARX card.json: {exc}") from exc
        if "spec" not in obj:
            raise Unprocessable("CHARX card.json has no spec")
        warnings: list[str] = []
        card = normalize(obj, warnings)
        image = None
        icon = _main_icon(card.data.get("assets"))
        if icon is not None and icon in archive.namelist():
            image = _read_member(archive, icon, limits.file_bytes)
        others = [n for n in archive.namelist() if n not in ("card.json", icon) and not n.endswith("/")]
        if others:
            warnings.append(f"{len(others)} CHARX asset file(s) besides the main icon are not kept")
    return ParsedCard(card=card, container="charx", image=image, warnings=warnings)
