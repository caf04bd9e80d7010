"""``GET /api/health``: upstream reachability, the active connection, and plugins' checks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio

from pluma_core.errors import PlumaError
from pluma_core.facade import Pluma

from .connections import Connections
from .providers.base import redact
from .schemas import ActiveSummary, Health

REACH_TIMEOUT = 3.0


async def _run_check(check: Any) -> dict[str, Any]:
    try:
        result = await asyncio.wait_for(check.check(), check.timeout)
    except TimeoutError:
        return {"ok": False, "error": f"timed out after {check.timeout:g} s"}
    except Exception as exc:
        return {"ok": False, "error": redact(f"{type(exc).__name__}: {exc}")[:300]}
    return result if isinstance(result, dict) else {"ok": bool(result)}


async def health(pluma: Pluma, connections: Connections) -> Health:
    """Always a verdict, never an exception."""
    profile, source = await anyio.to_thread.run_sync(connections.active)
    summary = ActiveSummary(id=profile.id if profile else None, name=profile.name if profile else "",
                            compat=profile.compat if profile else "", model=profile.model if profile else "",
                            source=source)
    names = pluma.health_checks.names()
    checks_task = asyncio.gather(*(_run_check(pluma.health_checks.get(n)) for n in names))
    upstream: str | None = None
    reachable = False
    latency: float | None = None
    error: str | None = None
    key: str | None = None
    if profile is None:
        error = "no LLM connection configured"
    else:
        started = time.perf_counter()
        try:
            key = await anyio.to_thread.run_sync(connections.key, profile)
            provider = connections.provider(profile, api_key=key, lookup_key=False)
            upstream = provider.upstream
            await asyncio.wait_for(provider.list_models(), REACH_TIMEOUT)
            reachable = True
            latency = round((time.perf_counter() - started) * 1000, 1)
        except TimeoutError:
            error = f"the upstream did not answer within {REACH_TIMEOUT:g} s"
        except PlumaError as exc:
            error = redact(exc.message, (key,))
        except Exception as exc:
            error = f"the provider failed: {type(exc).__name__}"
    checks = dict(zip(names, await checks_task, strict=True))
    return Health(ok=reachable, upstream=upstream, reachable=reachable, connection=summary, latency_ms=latency,
                  error=error, version=pluma.version, checks=checks)
