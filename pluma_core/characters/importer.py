"""Import a card from a URL: chub.ai character pages, or direct ``.png``/``.json``/CHARX links."""

from __future__ import annotations

import logging

from pluma_core.cards import ParsedCard, read_card
from pluma_core.cards.images import avatar_png
from pluma_core.cards.limits import DEFAULT_LIMITS
from pluma_core.cards.normalize import normalize
from pluma_core.errors import NotConfigured, PlumaError, UpstreamError
from pluma_core.services import UrlFetcher

from . import chub

log = logging.getLogger("pluma.characters")


def require_fetcher(fetcher: UrlFetcher | None) -> UrlFetcher:
    """The SSRF-guarded fetcher, or 503 when the core has none installed."""
    if fetcher is None:
        raise NotConfigured("URL fetching is not available (no SSRF-guarded fetcher installed)")
    return fetcher


async def _chub_avatar(fetcher: UrlFetcher, node: dict[str, object]) -> bytes | None:
    for key in ("max_res_url", "avatar_url"):
        url = node.get(key)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            continue
        try:
            result = await fetcher.fetch(url, max_bytes=DEFAULT_LIMITS.file_bytes, timeout=chub.FETCH_TIMEOUT)
            if result.status == 200:
                return avatar_png(result.content)
        except PlumaError as exc:
            log.info("chub avatar %s not usable: %s", key, exc.message)
    return None


async def from_chub(
    fetcher: UrlFetcher, api_base: str, avatars_base: str, creator: str, slug: str
) -> ParsedCard:
    """The card PNG from chub's CDN; failing that, a card built from the API's definition."""
    png = await chub.fetch_card_png(fetcher, avatars_base, creator, slug)
    if png is not None:
        try:
            return read_card(png)
        except PlumaError as exc:
            log.info("chub card PNG for %s/%s unusable (%s); using the API", creator, slug, exc.message)
    node = await chub.fetch_node(fetcher, api_base, creator, slug)
    warnings: list[str] = []
    card = normalize(chub.card_from_node(node, f"{creator}/{slug}"), warnings)
    image = await _chub_avatar(fetcher, node)
    return ParsedCard(card=card, container="png" if image else "json", image=image, warnings=warnings)


async def from_url(fetcher: UrlFetcher | None, url: str, api_base: str, avatars_base: str) -> ParsedCard:
    """Fetch ``url`` through the SSRF guard and read the card it points at."""
    guarded = require_fetcher(fetcher)
    page = chub.chub_path(url)
    if page is not None:
        return await from_chub(guarded, api_base, avatars_base, *page)
    result = await guarded.fetch(url, max_bytes=DEFAULT_LIMITS.file_bytes, timeout=chub.FETCH_TIMEOUT)
    if result.status >= 400:
        raise UpstreamError(f"the URL answered HTTP {result.status}")
    return read_card(result.content)
