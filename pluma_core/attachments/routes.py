"""HTTP for ``/api/attachments/{name}``: the body is the raw image bytes."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, put
from litestar.params import FromPath
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from pluma_core.errors import BadRequest
from pluma_core.facade import Pluma, PlumaDep
from pluma_core.limits import ATTACHMENT_BODY_MAX

from .schemas import AttachmentOut
from .store import AttachmentStore

ATTACHMENT_STORE = "attachment_store"
"""Service name of the :class:`AttachmentStore` (the image plugin saves generations through it)."""


def store_of(pluma: Pluma) -> AttachmentStore:
    """The store the attachments plugin published."""
    return pluma.services.require(ATTACHMENT_STORE)  # type: ignore[no-any-return]


class AttachmentController(Controller):
    """Image blobs referenced from messages (plaintext files, sniffed types)."""

    path = "/api/attachments"
    tags = ["attachments"]

    @put("/{name:str}", status_code=HTTP_201_CREATED, request_max_body_size=ATTACHMENT_BODY_MAX)
    async def put_attachment(
        self, pluma: PlumaDep, name: FromPath[str], request: Request[Any, Any, Any]
    ) -> AttachmentOut:
        """Store the request body (an image) under ``name``."""
        store = store_of(pluma)
        data = await request.body()
        if not data:
            raise BadRequest("empty body: send the image bytes")
        media_type = store.put(name, data)
        return AttachmentOut(name=name, size=len(data), content_type=media_type, url=f"/api/attachments/{name}")

    @get("/{name:str}", sync_to_thread=True)
    def get_attachment(self, pluma: PlumaDep, name: FromPath[str]) -> Response[bytes]:
        """The image, with its type sniffed from the bytes."""
        data, media_type = store_of(pluma).get(name)
        return Response(
            data,
            media_type=media_type,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    @delete("/{name:str}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def delete_attachment(self, pluma: PlumaDep, name: FromPath[str]) -> None:
        """Remove one attachment."""
        store_of(pluma).delete(name)
