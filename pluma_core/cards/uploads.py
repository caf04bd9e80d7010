"""Reading an uploaded file from a request: multipart field ``file`` or the raw body."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile

from pluma_core.errors import BadRequest, PayloadTooLarge
from pluma_core.limits import CARD_BODY_MAX, KIB

UPLOAD_MAX = CARD_BODY_MAX + 64 * KIB
"""Request cap for card and avatar uploads: the 20 MiB file plus multipart framing."""


async def uploaded_bytes(request: Request[Any, Any, Any], cap: int = CARD_BODY_MAX, field: str = "file") -> bytes:
    """The uploaded file's bytes; 400 when missing or empty, 413 past ``cap``."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get(field)
        if not isinstance(upload, UploadFile):
            raise BadRequest(f"multipart upload needs a file field named {field!r}")
        data = await upload.read(cap + 1)
    else:
        data = await request.body()
    if len(data) > cap:
        raise PayloadTooLarge(f"file is larger than {cap} bytes")
    if not data:
        raise BadRequest("empty upload")
    return data
