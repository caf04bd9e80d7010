"""Wire shapes of ``/api/attachments``."""

from __future__ import annotations

import msgspec


class AttachmentOut(msgspec.Struct, kw_only=True):
    """What ``PUT /api/attachments/{name}`` stored."""

    name: str
    size: int
    content_type: str
    url: str
