"""Top-level ``config.toml`` keys of the auth gate."""

from __future__ import annotations

import msgspec


class AuthConfig(msgspec.Struct, kw_only=True):
    """``require_auth`` (master switch, default on) and ``loopback_auth_bypass`` (default on).

    The loopback bypass admits a request only when both the TCP peer (after the trusted-proxy
    rewrite) and the ``Host`` name are loopback, so DNS rebinding cannot borrow it.
    """

    require_auth: bool = True
    loopback_auth_bypass: bool = True
