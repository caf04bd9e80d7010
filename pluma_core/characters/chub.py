"""chub.ai (Characterhub): character page links, the card download, and the search proxy.

Every request goes through the SSRF-guarded fetcher. chub's API is undocumented; the field
names below are the ones real clients rely on (``cards-and-protocols.md`` section 6).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from pluma_core.cards.limits import DEFAULT_LIMITS
from pluma_core.errors import PlumaError, UpstreamError
from pluma_core.services import FetchResult, UrlFetcher

from .schemas import SearchPage, SearchResult

CHUB_HOSTS = frozenset({"chub.ai", "www.chub.ai", "characterhub.org", "www.characterhub.org", "venus.chub.ai"})
PAGE_SIZE = 24
SORTS = frozenset(
    {"download_count", "star_count", "last_activity_at", "created_at", "name", "default", "msgs_user"}
)
FETCH_TIMEOUT = 60.0

# chub's ``definition`` names -> card names. Note the traps: chub's ``personality`` is the card
# description, chub's ``description`` the creator notes, ``tavern_personality`` the personality.
DEFINITION_FIELDS = {
    "first_message": "first_mes",
    "example_dialogs": "mes_example",
    "tavern_personality": "personality",
    "personality": "description",
    "description": "creator_notes",
    "scenario": "scenario",
    "system_prompt": "system_prompt",
    "post_history_instructions": "post_history_instructions",
    "alternate_greetings": "alternate_greetings",
    "embedded_lorebook": "character_book",
    "extensions": "extensions",
}


class SourceUnavailable(PlumaError):
    """502: chub refused us (403/405: region block, traffic surge, removed endpoint)."""

    status_code = 502


def chub_path(url: str) -> tuple[str, str] | None:
    """``(creator, slug)`` for a chub character page link, else ``None``."""
    parts = urlsplit(url.strip())
    if (parts.hostname or "").lower() not in CHUB_HOSTS:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 3 and segments[0] == "characters":
        return segments[1], segments[2]
    return None


def _check_status(result: FetchResult, what: str) -> None:
    if result.status in (403, 405):
        raise SourceUnavailable(f"source unavailable: chub.ai answered {result.status} to the {what} request")
    if result.status >= 400:
        raise UpstreamError(f"chub.ai answered {result.status} to the {what} request")


def card_from_node(node: dict[str, Any], full_path: str) -> dict[str, Any]:
    """A V2 card object built from a chub ``node`` (its ``definition`` renamed to card fields)."""
    definition = node.get("definition") if isinstance(node.get("definition"), dict) else {}
    data: dict[str, Any] = {"name": definition.get("name") or node.get("name") or full_path.rsplit("/", 1)[-1]}
    for chub_name, card_name in DEFINITION_FIELDS.items():
        if definition.get(chub_name) is not None:
            data[card_name] = definition[chub_name]
    topics = node.get("topics")
    data["tags"] = [t for t in topics if isinstance(t, str)] if isinstance(topics, list) else []
    data["creator"] = full_path.split("/", 1)[0]
    extensions = data.get("extensions") if isinstance(data.get("extensions"), dict) else {}
    extensions.setdefault("chub", {"full_path": full_path, "id": node.get("id")})
    data["extensions"] = extensions
    data.setdefault("source", [f"https://chub.ai/characters/{full_path}"])
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": data}


async def fetch_card_png(fetcher: UrlFetcher, avatars_base: str, creator: str, slug: str) -> bytes | None:
    """The full card PNG from chub's image CDN, or ``None`` when it is not there."""
    url = f"{avatars_base.rstrip('/')}/avatars/{quote(creator)}/{quote(slug)}/chara_card_v2.png"
    try:
        result = await fetcher.fetch(url, max_bytes=DEFAULT_LIMITS.file_bytes, timeout=FETCH_TIMEOUT)
    except UpstreamError:
        return None
    if result.status != 200 or not result.content.startswith(b"\x89PNG"):
        return None
    return result.content


async def fetch_node(fetcher: UrlFetcher, api_base: str, creator: str, slug: str) -> dict[str, Any]:
    """The character node from chub's API (``?full=true`` for the definition)."""
    url = f"{api_base.rstrip('/')}/api/characters/{quote(creator)}/{quote(slug)}?full=true"
    result = await fetcher.fetch(url, max_bytes=DEFAULT_LIMITS.file_bytes, timeout=FETCH_TIMEOUT)
    _check_status(result, "character")
    try:
        body = json.loads(result.content)
    except ValueError as exc:
        raise UpstreamError("chub.ai answered something that is not JSON") from exc
    node = body.get("node") if isinstance(body, dict) else None
    if not isinstance(node, dict):
        raise UpstreamError("chub.ai answered without a character node")
    return node


def _search_query(q: str, tags: str, sort: str, page: int, nsfw: bool) -> str:
    params: dict[str, str | int] = {
        "search": q,
        "first": PAGE_SIZE,
        "page": page,
        "sort": sort,
        "nsfw": str(nsfw).lower(),
        "namespace": "characters",
    }
    if tags:
        params["topics"] = tags
    return urlencode(params)


def _result(node: dict[str, Any]) -> SearchResult | None:
    full_path = node.get("fullPath")
    if not isinstance(full_path, str) or "/" not in full_path:
        return None
    topics = node.get("topics")
    return SearchResult(
        full_path=full_path,
        name=str(node.get("name") or full_path),
        tagline=str(node.get("tagline") or ""),
        avatar_url=node.get("avatar_url") if isinstance(node.get("avatar_url"), str) else None,
        tags=[t for t in topics if isinstance(t, str)] if isinstance(topics, list) else [],
        downloads=int(node.get("nChats") or node.get("downloadCount") or 0),
        stars=int(node.get("starCount") or 0),
        import_url=f"https://chub.ai/characters/{full_path}",
    )


async def search(
    fetcher: UrlFetcher, api_base: str, *, q: str, tags: str, sort: str, page: int, nsfw: bool
) -> SearchPage:
    """One page of chub search results, reshaped."""
    url = f"{api_base.rstrip('/')}/search?{_search_query(q, tags, sort, page, nsfw)}"
    result = await fetcher.fetch(url, max_bytes=5 * 1024 * 1024, timeout=30.0)
    _check_status(result, "search")
    try:
        body = json.loads(result.content)
    except ValueError as exc:
        raise UpstreamError("chub.ai answered something that is not JSON") from exc
    container = body.get("data", body) if isinstance(body, dict) else {}
    nodes = container.get("nodes") if isinstance(container, dict) else None
    if not isinstance(nodes, list):
        raise UpstreamError("chub.ai search answered without results")
    results = [r for n in nodes if isinstance(n, dict) and (r := _result(n)) is not None]
    count = container.get("count") if isinstance(container.get("count"), int) else None
    has_more = count > page * PAGE_SIZE if count is not None else len(nodes) >= PAGE_SIZE
    return SearchPage(results=results, page=page, has_more=has_more, count=count)
