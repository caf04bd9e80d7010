"""Top-level ``config.toml`` keys of the HTTP security layer."""

from __future__ import annotations

import msgspec


class SecurityConfig(msgspec.Struct, kw_only=True):
    """``allowed_hosts``, ``trusted_proxies``, ``cors_origins`` and ``log_requests``.

    ``allowed_hosts``: IPs, CIDRs and host-name patterns (``pluma.lan``, ``*.example.org``, ``*``)
    admitted in the ``Host`` header besides loopback names. ``trusted_proxies``: IPs/CIDRs whose
    ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed. ``cors_origins``: exact origins
    (``https://app.example.org``) allowed to call the API cross-origin with credentials; ``*``
    is never honoured. ``log_requests``: an access log line per request on stderr.
    """

    allowed_hosts: list[str] = msgspec.field(default_factory=list)
    trusted_proxies: list[str] = msgspec.field(default_factory=list)
    cors_origins: list[str] = msgspec.field(default_factory=list)
    log_requests: bool = False
