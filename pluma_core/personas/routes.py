"""HTTP for ``/api/personas``."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from pluma_core.cards.images import MEDIA_TYPES
from pluma_core.cards.uploads import UPLOAD_MAX, uploaded_bytes
from pluma_core.errors import BadRequest, NotFound
from pluma_core.facade import Pluma, PlumaDep
from pluma_core.limits import JSON_BODY_MAX

from .schemas import Persona, PersonaIn
from .store import PersonaStore

PERSONA_STORE = "persona_store"
"""Service name of the :class:`PersonaStore` (the prompt builder reads personas through it)."""


def store_of(pluma: Pluma) -> PersonaStore:
    """The store the personas plugin published for this app."""
    return pluma.services.require(PERSONA_STORE)  # type: ignore[no-any-return]


class PersonaController(Controller):
    """Personas: the user's identities, stored as portable Tavern V2 cards."""

    path = "/api/personas"
    tags = ["personas"]

    @get(sync_to_thread=True)
    def list_personas(self, pluma: PlumaDep) -> list[Persona]:
        """Every persona."""
        return store_of(pluma).list()

    @get("/{pid:str}", sync_to_thread=True)
    def get_persona(self, pluma: PlumaDep, pid: FromPath[str]) -> Persona:
        """One persona."""
        return store_of(pluma).get(pid)

    @put("/{pid:str}", sync_to_thread=True, request_max_body_size=JSON_BODY_MAX)
    def put_persona(self, pluma: PlumaDep, pid: FromPath[str], data: JSONBody[PersonaIn]) -> Persona:
        """Create or update (name required)."""
        return store_of(pluma).put(pid, data)

    @delete("/{pid:str}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def delete_persona(self, pluma: PlumaDep, pid: FromPath[str]) -> None:
        """Remove a persona."""
        store_of(pluma).delete(pid)

    @get("/{pid:str}/avatar", sync_to_thread=True)
    def get_avatar(self, pluma: PlumaDep, pid: FromPath[str], w: FromQuery[int | None] = None) -> Response[bytes]:
        """The persona card PNG, or with ``?w=`` a resized PNG."""
        store = store_of(pluma)
        path = store.path(pid)
        if path is None:
            raise NotFound(f"no persona {pid!r}")
        if path.suffix != ".png":
            raise NotFound("this persona has no avatar")
        if w is None:
            return Response(path.read_bytes(), media_type=MEDIA_TYPES["png"])
        if w < 1:
            raise BadRequest("w must be a positive width in pixels")
        data, _ = store.avatars.get("personas", pid, path, w)
        return Response(data, media_type=MEDIA_TYPES["png"])

    @put("/{pid:str}/avatar", request_max_body_size=UPLOAD_MAX)
    async def put_avatar(self, pluma: PlumaDep, pid: FromPath[str], request: Request[Any, Any, Any]) -> Persona:
        """Replace the avatar: PNG or JPEG, at most 20 MB; the persona must exist first."""
        store = store_of(pluma)
        if store.path(pid) is None:
            raise NotFound(f"no persona {pid!r}: save the persona before its avatar")
        data = await uploaded_bytes(request)
        return await anyio.to_thread.run_sync(store.set_avatar, pid, data)
