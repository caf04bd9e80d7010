"""Wire shapes of the ``/api/auth`` routes."""

from __future__ import annotations

import msgspec


class AuthStatus(msgspec.Struct, kw_only=True):
    """``GET /api/auth/status``: what the browser app should show for this origin."""

    require_auth: bool
    authenticated: bool
    grace: bool
    loopback_bypass: bool
    rp_id: str
    credential_count: int
    passkeys_supported: bool
    hint: str | None = None


class RegisterBegin(msgspec.Struct, kw_only=True):
    """``POST /api/auth/register/begin`` body."""

    device_name: str | None = None


class CredentialOut(msgspec.Struct, kw_only=True):
    """A passkey as listed: never key material."""

    id: str
    device_name: str
    rp_id: str
    created_at: float
    last_used_at: float | None = None
    backed_up: bool = False


class Registered(msgspec.Struct, kw_only=True):
    """``POST /api/auth/register/finish`` answer."""

    id: str
    device_name: str


class TokenIn(msgspec.Struct, kw_only=True):
    """``POST /api/auth/token`` body (optional)."""

    label: str = "token"


class TokenOut(msgspec.Struct, kw_only=True):
    """A freshly minted bearer token: shown once, only its hash is kept."""

    token: str
    id: str
    label: str


class WhoAmI(msgspec.Struct, kw_only=True):
    """``GET /api/auth/whoami``."""

    method: str
    credential_id: str | None = None
    device_name: str | None = None
    token_id: str | None = None
    rp_id: str = ""
