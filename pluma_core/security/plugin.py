"""The ``security`` default plugin: the HTTP security middleware and its config keys."""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.registry_types import ConfigSection, MiddlewareOrder, MiddlewareSpec
from pluma_core.security.config import SecurityConfig
from pluma_core.security.middleware import (
    AccessLogMiddleware,
    CorsMiddleware,
    HostAllowlistMiddleware,
    NoStoreMiddleware,
    SecurityHeadersMiddleware,
    TrustedProxiesMiddleware,
)


@hookimpl
def register_config_sections() -> list[ConfigSection]:
    """``allowed_hosts``, ``trusted_proxies``, ``cors_origins``, ``log_requests``."""
    return [ConfigSection(schema=SecurityConfig)]


@hookimpl
def register_middleware(pluma: Any) -> list[MiddlewareSpec]:
    """The chain's fixed slots except the auth gate (registered by the ``auth`` plugin)."""
    return [
        MiddlewareSpec("trusted_proxies", MiddlewareOrder.TRUSTED_PROXIES, TrustedProxiesMiddleware),
        # Just inside the proxy rewrite, so every answer (401/403 included) carries the headers.
        MiddlewareSpec("security_headers", MiddlewareOrder.TRUSTED_PROXIES + 50, SecurityHeadersMiddleware),
        MiddlewareSpec("access_log", MiddlewareOrder.ACCESS_LOG, AccessLogMiddleware),
        MiddlewareSpec("no_store", MiddlewareOrder.NO_STORE, NoStoreMiddleware),
        MiddlewareSpec("host_allowlist", MiddlewareOrder.HOST_ALLOWLIST, HostAllowlistMiddleware, tailnet=False),
        MiddlewareSpec("cors", MiddlewareOrder.CORS, CorsMiddleware),
    ]
