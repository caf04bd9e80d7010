"""HTTP for ``/api/chat``, ``/api/models``, ``/api/health`` and ``/api/connections``.

Validation and status codes only; the logic lives in connections.py, chat.py, discovery.py and
health.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from litestar.types import Receive

from pluma_core.errors import BadRequest, PlumaError, UpstreamError
from pluma_core.facade import PlumaDep
from pluma_core.limits import CHAT_BODY_MAX, JSON_BODY_MAX

from . import discovery
from .chat import list_models_within
from .connections import check_api_key, check_base_url, secret_name
from .health import health
from .providers.base import ProviderProfile, as_model_info, redact, redact_error
from .runtime import runtime
from .schemas import (
    Activated,
    ConnectionIn,
    ConnectionList,
    DiscoverIn,
    DiscoverResult,
    Fallback,
    Health,
    LlmKeys,
    ModelList,
    TestResult,
)

TEST_TIMEOUT = 5.0


def _convert(data: Any, schema: type[Any]) -> Any:
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        return msgspec.convert(data, schema)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid body: {exc}") from exc


def _disconnect_watcher(receive: Receive) -> Callable[[], Awaitable[None]]:
    """Something to await that returns once the client has gone away (the body is read by then)."""
    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
    return gone


@post("/api/chat", request_max_body_size=CHAT_BODY_MAX, status_code=HTTP_200_OK)
async def chat(pluma: PlumaDep, request: Request[Any, Any, Any], data: JSONBody[Any]) -> Response[Any]:
    """OpenAI-shaped chat; SSE when streaming (the default with a ``conversation_id``)."""
    return await runtime(pluma).chat.chat(data, disconnected=_disconnect_watcher(request.receive))


@get("/api/models")
async def list_models(pluma: PlumaDep) -> Any:
    """Models the active connection's upstream advertises."""
    connections = runtime(pluma).connections
    profile, _ = await anyio.to_thread.run_sync(connections.active)
    if profile is None:
        return Response({"error": "no LLM connection: add one, or start Pluma with --base-url", "models": []},
                        status_code=503)
    key = await anyio.to_thread.run_sync(connections.key, profile)
    provider = connections.provider(profile, api_key=key, lookup_key=False)
    try:
        timeout = pluma.config.get(LlmKeys).models_timeout
        return ModelList(models=[as_model_info(m) for m in await list_models_within(provider, timeout)])
    except PlumaError as exc:
        raise redact_error(exc, (key,)) from exc.__cause__
    except Exception as exc:
        raise UpstreamError(f"the provider failed: {type(exc).__name__}") from exc


@get("/api/health")
async def get_health(pluma: PlumaDep) -> Health:
    """Upstream reachability and the active connection; always HTTP 200."""
    return await health(pluma, runtime(pluma).connections)


class ConnectionController(Controller):
    """LLM connection profiles; API keys live in the keyring and are never returned."""

    path = "/api/connections"
    tags = ["connections"]
    request_max_body_size = JSON_BODY_MAX

    @get(sync_to_thread=True)
    def list_connections(self, pluma: PlumaDep) -> ConnectionList:
        """Profiles (keys redacted), the active id, the fallback and the registered providers."""
        connections = runtime(pluma).connections
        url = connections.fallback_url()
        profiles = connections.store.list()
        return ConnectionList(
            profiles=[connections.redact(p) for p in profiles],
            active_id=connections.store.active_id(),
            fallback=Fallback(base_url=url) if url and not profiles else None,
            providers=pluma.llm_providers.names(),
        )

    @put(sync_to_thread=True)
    def put_connection(self, pluma: PlumaDep, data: JSONBody[Any]) -> Any:
        """Create or update a profile."""
        return runtime(pluma).connections.save(_convert(data, ConnectionIn))

    @delete("/{cid:str}", status_code=HTTP_204_NO_CONTENT)
    async def delete_connection(self, pluma: PlumaDep, cid: FromPath[str]) -> None:
        """Remove a profile and its key; close its pooled client."""
        await anyio.to_thread.run_sync(runtime(pluma).connections.delete, cid)
        await pluma.http.discard(secret_name(cid))

    @delete("/{cid:str}/key", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def delete_key(self, pluma: PlumaDep, cid: FromPath[str]) -> None:
        """Clear the stored API key, keep the profile."""
        runtime(pluma).connections.clear_key(cid)

    @post("/{cid:str}/activate", sync_to_thread=True, status_code=HTTP_200_OK)
    def activate(self, pluma: PlumaDep, cid: FromPath[str]) -> Activated:
        """Make a profile the one the next ``/api/chat`` uses."""
        return Activated(active_id=runtime(pluma).connections.activate(cid))

    @post("/test", status_code=HTTP_200_OK)
    async def test_connection(self, pluma: PlumaDep, data: JSONBody[Any]) -> TestResult:
        """List an unsaved profile's models with a short timeout; the verdict is in the body."""
        connections = runtime(pluma).connections
        try:
            body: ConnectionIn = _convert(data, ConnectionIn)
            if body.base_url is msgspec.UNSET:
                raise BadRequest("base_url is required")
            compat = connections.check_compat(body.compat or "openai")
            profile = ProviderProfile(id=body.id or "test", compat=compat,
                                      base_url=check_base_url(body.base_url), model=body.model or "")
            key = check_api_key(body.api_key)
            if not key and body.id:
                # The stored key only goes to the server it was given for.
                key = await anyio.to_thread.run_sync(connections.stored_key_for, body.id, profile.base_url)
        except PlumaError as exc:
            return TestResult(ok=False, error=exc.message)
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=TEST_TIMEOUT, trust_env=False) as client:
            try:
                provider = connections.provider(profile, api_key=key or None, client=client, lookup_key=False)
                models = await asyncio.wait_for(provider.list_models(), TEST_TIMEOUT)
            except TimeoutError:
                return TestResult(ok=False, error=f"no answer within {TEST_TIMEOUT:g} s")
            except PlumaError as exc:
                return TestResult(ok=False, error=redact(exc.message, (key,)))
            except Exception as exc:
                return TestResult(ok=False, error=f"the provider failed: {type(exc).__name__}")
        latency = round((time.perf_counter() - started) * 1000, 1)
        try:
            ids = [as_model_info(m).id for m in models]
        except PlumaError as exc:
            return TestResult(ok=False, error=redact(exc.message, (key,)))
        return TestResult(ok=True, models=ids, latency_ms=latency)

    @post("/discover", status_code=HTTP_200_OK)
    async def discover(self, request: Request[Any, Any, Any]) -> DiscoverResult:
        """Probe localhost's usual LLM ports (plus any ``ports`` in the body) concurrently."""
        raw = await request.body()
        extra: list[int] = []
        if raw.strip():
            try:
                extra = msgspec.json.decode(raw, type=DiscoverIn).ports
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise BadRequest(f"invalid body: {exc}") from exc
        return DiscoverResult(found=await discovery.discover([*discovery.DEFAULT_PORTS, *extra]))
