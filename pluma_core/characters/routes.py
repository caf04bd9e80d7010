"""HTTP for ``/api/characters``: parsing requests and picking status codes; logic is elsewhere."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from pluma_core.cards import read_card
from pluma_core.cards.images import MEDIA_TYPES
from pluma_core.cards.model import ParsedCard
from pluma_core.cards.uploads import UPLOAD_MAX, uploaded_bytes
from pluma_core.errors import BadRequest, NotFound
from pluma_core.facade import Pluma, PlumaDep
from pluma_core.limits import CARD_BODY_MAX

from . import chub, importer
from .builtin_install import restore_builtin
from .schemas import AvatarStatus, CharacterSummary, ImportUrlIn, SearchPage, check_card_data
from .settings import CharacterKeys
from .store import CharacterStore

CHARACTER_STORE = "character_store"
"""Service name of the :class:`CharacterStore` (the prompt builder reads cards through it)."""


def store_of(pluma: Pluma) -> CharacterStore:
    """The store the characters plugin published for this app."""
    return pluma.services.require(CHARACTER_STORE)  # type: ignore[no-any-return]


def _portrait_state(pluma: Pluma, card_id: str) -> AvatarStatus:
    job = pluma.jobs.latest("portrait", card_id)
    if job is None:
        return AvatarStatus(status="none")
    status = "failed" if job.status == "cancelled" else job.status
    error = job.error or ("cancelled" if job.status == "cancelled" else None)
    return AvatarStatus(status=status, job_id=job.id, error=error, progress=job.progress)


class CharacterController(Controller):
    """Character cards: the library, imports, avatars and the chub.ai proxy."""

    path = "/api/characters"
    tags = ["characters"]

    @get(sync_to_thread=True)
    def list_characters(self, pluma: PlumaDep) -> list[CharacterSummary]:
        """Summaries of local, external (read-only) and built-in cards."""
        summaries = store_of(pluma).list()
        for summary in summaries:
            job = pluma.jobs.latest("portrait", summary.id)
            if job is not None and job.status in ("pending", "running"):
                summary.status = "generating"
        return summaries

    @post(sync_to_thread=True, status_code=HTTP_201_CREATED, request_max_body_size=CARD_BODY_MAX)
    def create_character(self, pluma: PlumaDep, data: JSONBody[Any]) -> dict[str, Any]:
        """Create a card from ``{"data": {...}}``; stored as JSON until it gets an avatar."""
        if not isinstance(data, dict):
            raise BadRequest('the body must be a card object with a "data" object')
        check_card_data(data.get("data"), creating=True)
        body = msgspec.json.encode(data)
        parsed = read_card(body)
        store = store_of(pluma)
        entry = store.add(ParsedCard(card=parsed.card, container="json", warnings=parsed.warnings))
        return store.describe(entry, parsed.card, parsed.warnings)

    @get("/search")
    async def search_characters(
        self,
        pluma: PlumaDep,
        q: FromQuery[str] = "",
        tags: FromQuery[str] = "",
        sort: FromQuery[str] = "download_count",
        page: FromQuery[int] = 1,
        nsfw: FromQuery[bool] = False,
    ) -> SearchPage:
        """Search chub.ai (proxied through the SSRF guard)."""
        if sort not in chub.SORTS:
            raise BadRequest(f"sort must be one of: {', '.join(sorted(chub.SORTS))}")
        if page < 1 or page > 10_000:
            raise BadRequest("page must be between 1 and 10000")
        keys = pluma.config.get(CharacterKeys)
        fetcher = importer.require_fetcher(pluma.url_fetcher)
        return await chub.search(fetcher, keys.chub_api_url, q=q[:200], tags=tags[:500], sort=sort, page=page,
                                 nsfw=nsfw)

    @post("/import", status_code=HTTP_201_CREATED, request_max_body_size=UPLOAD_MAX)
    async def import_character(self, pluma: PlumaDep, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Multipart ``file`` (PNG, JSON or CHARX), or the raw file as the body."""
        data = await uploaded_bytes(request)
        store = store_of(pluma)

        def work() -> dict[str, Any]:
            parsed = read_card(data)
            entry = store.add(parsed)
            return store.describe(entry, parsed.card, parsed.warnings)

        return await anyio.to_thread.run_sync(work)

    @post("/import-url", status_code=HTTP_201_CREATED)
    async def import_url(self, pluma: PlumaDep, data: JSONBody[ImportUrlIn]) -> dict[str, Any]:
        """Import from a chub.ai character page or a direct card link."""
        keys = pluma.config.get(CharacterKeys)
        parsed = await importer.from_url(pluma.url_fetcher, data.url, keys.chub_api_url, keys.chub_avatars_url)
        store = store_of(pluma)

        def work() -> dict[str, Any]:
            entry = store.add(parsed)
            return store.describe(entry, parsed.card, parsed.warnings)

        return await anyio.to_thread.run_sync(work)

    @post("/restore-pluma", sync_to_thread=True, status_code=HTTP_201_CREATED)
    def restore_pluma(self, pluma: PlumaDep) -> dict[str, Any]:
        """Re-install the built-in Pluma character (even after it was deleted)."""
        store = store_of(pluma)
        entry, card = restore_builtin(store, pluma.config)
        return store.describe(entry, card)

    @get("/{cid:str}", sync_to_thread=True)
    def get_character(self, pluma: PlumaDep, cid: FromPath[str]) -> dict[str, Any]:
        """The whole card (lorebook included)."""
        store = store_of(pluma)
        entry, card = store.card(cid)
        return store.describe(entry, card)

    @put("/{cid:str}", sync_to_thread=True, request_max_body_size=CARD_BODY_MAX)
    def put_character(self, pluma: PlumaDep, cid: FromPath[str], data: JSONBody[Any]) -> dict[str, Any]:
        """Update the card; it is re-embedded into the PNG so the file stays share-ready."""
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        store = store_of(pluma)
        entry, card = store.update(cid, data)
        return store.describe(entry, card)

    @delete("/{cid:str}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def delete_character(self, pluma: PlumaDep, cid: FromPath[str]) -> None:
        """Remove a local card (403 for read-only external cards)."""
        store_of(pluma).delete(cid)

    @get("/{cid:str}/avatar", sync_to_thread=True)
    def get_avatar(self, pluma: PlumaDep, cid: FromPath[str], w: FromQuery[int | None] = None) -> Response[bytes]:
        """The card PNG itself (share-ready), or with ``?w=`` a resized PNG from the disk cache."""
        store = store_of(pluma)
        entry = store.entry(cid)
        if not entry.has_avatar:
            raise NotFound("this character has no avatar")
        if w is None:
            return Response(entry.path.read_bytes(), media_type=MEDIA_TYPES["png"])
        if w < 1:
            raise BadRequest("w must be a positive width in pixels")
        data, _ = store.avatars.get("characters", entry.id, entry.path, w)
        return Response(data, media_type=MEDIA_TYPES["png"])

    @put("/{cid:str}/avatar", status_code=200, request_max_body_size=UPLOAD_MAX)
    async def put_avatar(self, pluma: PlumaDep, cid: FromPath[str], request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Replace the avatar (PNG, JPEG or WebP); the card is embedded into the new PNG."""
        data = await uploaded_bytes(request)
        store = store_of(pluma)

        def work() -> dict[str, Any]:
            entry, card = store.set_avatar(cid, data)
            return store.describe(entry, card)

        return await anyio.to_thread.run_sync(work)

    @get("/{cid:str}/avatar/status", sync_to_thread=True)
    def avatar_status(self, pluma: PlumaDep, cid: FromPath[str]) -> AvatarStatus:
        """The background portrait job's state (``none`` when no image plugin started one)."""
        store_of(pluma).entry(cid)
        return _portrait_state(pluma, cid)
