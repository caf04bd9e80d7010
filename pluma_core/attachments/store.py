"""Image attachments as plain files in ``<datadir>/attachments/``.

Names are checked against ``^[A-Za-z0-9._-]{1,128}$`` with no leading dot (so no ``..``, no
separators, no percent or Unicode tricks reach the filesystem), and the type of an image is
always sniffed from its bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

from pluma_core.cards.images import MEDIA_TYPES, UnsupportedMediaType, check_image, sniff_image
from pluma_core.errors import BadRequest, NotFound
from pluma_core.storage.atomic import atomic_write

_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")


def validate_name(name: str) -> str:
    """``name`` unchanged, or 400: plain ASCII letters, digits, ``.``, ``_``, ``-``; no leading dot."""
    if not _NAME.fullmatch(name) or name.startswith(".") or ".." in name:
        raise BadRequest("invalid attachment name: use 1-128 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
    return name


class AttachmentStore:
    """Put, get and delete image blobs by name."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, name: str) -> Path:
        return self.folder / validate_name(name)

    def put(self, name: str, data: bytes) -> str:
        """Store ``data`` (an image); returns its sniffed media type."""
        path = self._path(name)
        kind = check_image(data)
        if kind is None:
            raise UnsupportedMediaType("attachments must be PNG, JPEG, WebP or GIF images (checked from the bytes)")
        atomic_write(path, data, mode=0o600)
        return MEDIA_TYPES[kind]

    def get(self, name: str) -> tuple[bytes, str]:
        """The bytes and their sniffed media type."""
        path = self._path(name)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"no attachment {name!r}") from None
        kind = sniff_image(data)
        return data, MEDIA_TYPES[kind] if kind else "application/octet-stream"

    def delete(self, name: str) -> None:
        """Remove one attachment."""
        path = self._path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"no attachment {name!r}") from None
