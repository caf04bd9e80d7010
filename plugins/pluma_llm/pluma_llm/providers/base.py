"""The chat provider interface that ``register_llm_providers`` factories implement.

A factory is called as ``factory(profile=..., api_key=..., client=...)``:

- ``profile``: a :class:`ProviderProfile` (``id``, ``name``, ``compat``, ``base_url``, ``model``);
- ``api_key``: the key looked up from the keyring, or ``None`` (providers never read it);
- ``client``: the pooled ``httpx.AsyncClient`` of this profile (do not close it).

It returns an object with ``id``, ``upstream``, ``async list_models()`` and
``stream_chat(request)``; see :class:`ChatProvider` and ``docs/writing-plugins.md``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Protocol

import httpx
import msgspec

from pluma_core.errors import BadRequest, PlumaError, UpstreamError, UpstreamTimeout

ERROR_BODY_MAX = 64 * 1024
"""How much of an upstream error body is read to find its message."""

Chunk = dict[str, Any]
"""One OpenAI ``chat.completion.chunk`` as a dict."""


class ProviderProfile(msgspec.Struct, kw_only=True, frozen=True):
    """What a provider is built from: a saved profile or the ``--base-url`` fallback."""

    id: str
    name: str = ""
    compat: str = "openai"
    base_url: str = ""
    model: str = ""


class ModelInfo(msgspec.Struct, kw_only=True):
    """One model an upstream advertises."""

    id: str
    display: str = ""
    family: str = ""


class ChatProvider(Protocol):
    """What a factory returns.

    ``stream_chat(request)`` receives the OpenAI-shaped request (``model``, ``messages`` and any
    sampling fields such as ``temperature``; never ``stream`` nor Pluma's own keys) and yields
    OpenAI ``chat.completion.chunk`` dicts as they arrive, ending when the answer is complete.
    Errors are raised as ``pluma_core.errors`` types: ``UpstreamError`` (502, or a 4xx when the
    upstream refused the request), ``UpstreamTimeout`` (504). Raised before the first chunk they
    become a JSON error; raised later, an SSE error event after the partial answer.
    """

    id: str
    upstream: str

    async def list_models(self) -> list[ModelInfo]:
        """Models the upstream advertises."""
        ...

    def stream_chat(self, request: Mapping[str, Any]) -> AsyncIterator[Chunk]:
        """The answer as OpenAI-shaped chunks."""
        ...


def as_model_info(item: Any) -> ModelInfo:
    """A provider's model entry (a ModelInfo, a dict with ``id``, or an object with ``id``)."""
    if isinstance(item, ModelInfo):
        return item
    get = item.get if isinstance(item, dict) else lambda key, default=None: getattr(item, key, default)
    model_id = get("id")
    if not isinstance(model_id, str) or not model_id:
        raise UpstreamError("the provider listed a model without an id")
    return ModelInfo(id=model_id, display=str(get("display") or model_id), family=str(get("family") or ""))


def normalise_base_url(base_url: str) -> str:
    """``http://h:1/`` and ``http://h:1/v1`` both become ``http://h:1/v1``."""
    url = base_url.strip().rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


REDACTED = "[redacted]"
MESSAGE_MAX = 300
_SECRET_PATTERNS = (
    # "Authorization: Bearer <token>" echoed back, any token shape.
    re.compile(r"(?i)(\bbearer\s+)[^\s\"',;]+"),
    # OpenAI-style keys (sk-..., sk-proj-..., sk-ant-...) wherever they appear.
    re.compile(r"()\bsk-[A-Za-z0-9_\-*.]{8,}"),
    # "Incorrect API key provided: <key>" and "api_key=<key>" / "x-api-key: <key>".
    re.compile(r"(?i)(\bapi key provided:\s*)[^\s\"',;]+"),
    re.compile(r"(?i)(\b(?:x-)?api[_-]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9._~+/\-]{8,}"),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with the given secrets and anything that looks like a key or bearer token removed.

    Every upstream-derived message Pluma returns or logs goes through this: servers echo the
    credentials they refused (``Incorrect API key provided: Bearer sk-...``).
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def redact_error(exc: PlumaError, secrets: Iterable[str | None] = ()) -> PlumaError:
    """``exc`` with its message redacted in place (returned for ``raise redact_error(...)``)."""
    exc.message = redact(exc.message, secrets)
    exc.args = (exc.message,)
    return exc


def _cut(text: str, secrets: Iterable[str | None]) -> str:
    """Redact first (a cut could leave a key's prefix unmatched), then keep it short."""
    return redact(text, secrets)[:MESSAGE_MAX]


def error_message(body: bytes, secrets: Iterable[str | None] = ()) -> str:
    """The human part of an upstream error body, whatever shape the server chose, redacted."""
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        text = body.decode("utf-8", "replace").strip()
        return _cut(text, secrets) or "no details"
    return describe_error(value, secrets)


def describe_error(value: Any, secrets: Iterable[str | None] = ()) -> str:
    """``{"error": {"message"}}``, ``{"error": "..."}``, ``{"detail": ...}`` or ``{"message"}``, redacted."""
    if isinstance(value, dict):
        inner = value.get("error")
        if isinstance(inner, dict):
            return _cut(str(inner.get("message") or inner.get("type") or inner), secrets)
        if isinstance(inner, str):
            return _cut(inner, secrets)
        for key in ("detail", "message"):
            if value.get(key):
                return _cut(str(value[key]), secrets)
    return _cut(str(value), secrets)


def status_error(status: int, body: bytes, upstream: str, secrets: Iterable[str | None] = ()) -> PlumaError:
    """Map an upstream HTTP error to the status our client sees.

    The upstream's 400/404/413/422 mean our client's request cannot be served as asked (a bad
    model name, a context too long): 400. A refused key is our configuration, not the caller's
    credentials: 502. Rate limits stay 429; everything else is 502. ``secrets`` (the key that
    was sent) are redacted from the upstream's words.
    """
    detail = error_message(body, secrets)
    if status in (400, 404, 413, 422):
        return BadRequest(f"the upstream refused the request ({status}): {detail}")
    if status in (401, 403):
        return UpstreamError(f"the upstream refused the API key ({status}): {detail}")
    if status == 429:
        return PlumaError(f"the upstream is rate limiting ({status}): {detail}", 429)
    return UpstreamError(f"the upstream failed ({status}): {detail}")


def transport_error(exc: httpx.HTTPError, upstream: str) -> PlumaError:
    """Map a network failure to 502 or 504 with words a person understands."""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamTimeout(f"the upstream at {upstream} did not answer in time")
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError(f"cannot reach the upstream at {upstream}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return UpstreamError(f"the upstream at {upstream} closed the connection mid-answer")
    return UpstreamError(f"upstream request to {upstream} failed: {type(exc).__name__}")


def parse_model_list(value: Any) -> list[ModelInfo]:
    """Lenient ``/v1/models``: a ``data`` or ``models`` list, items keyed by ``id``/``name``/``model``."""
    items: Any = None
    if isinstance(value, dict):
        items = value.get("data")
        if not isinstance(items, list):
            items = value.get("models")
    elif isinstance(value, list):
        items = value
    if not isinstance(items, list):
        raise UpstreamError("the upstream's model list has neither 'data' nor 'models'")
    models: list[ModelInfo] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, str):
            model_id, display, family = item, item, ""
        elif isinstance(item, dict):
            model_id = item.get("id") or item.get("name") or item.get("model")
            if not isinstance(model_id, str) or not model_id:
                continue
            display = str(item.get("display_name") or item.get("name") or model_id)
            details = item.get("details")
            family = str(details.get("family") or "") if isinstance(details, dict) else ""
        else:
            continue
        if model_id not in seen:
            seen.add(model_id)
            models.append(ModelInfo(id=model_id, display=display, family=family))
    return models


async def get_json(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str], secrets: Iterable[str | None] = ()
) -> Any:
    """GET ``url`` and decode its JSON; transport, status and decode failures as PlumaErrors
    whose text has ``secrets`` redacted (upstream error bodies may echo the key)."""
    try:
        response = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        raise transport_error(exc, url) from exc
    if response.status_code >= 400:
        raise status_error(response.status_code, response.content[:ERROR_BODY_MAX], url, secrets)
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError as exc:
        raise UpstreamError(f"{url} did not answer JSON") from exc
