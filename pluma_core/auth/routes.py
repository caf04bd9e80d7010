"""HTTP for ``/api/auth``: the nine passkey routes, whoami, and bearer-token management."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from pluma_core.auth.cli_page import CLI_HTML, CLI_JS
from pluma_core.auth.passkeys import IP_HOST_HINT, device_name_from_user_agent, passkeys_supported
from pluma_core.auth.schemas import (
    AuthStatus,
    CredentialOut,
    RegisterBegin,
    Registered,
    TokenIn,
    TokenOut,
    WhoAmI,
)
from pluma_core.auth.service import STATE_KEY, AuthInfo, AuthService, RequestSite, auth_service, request_site
from pluma_core.auth.sessions import Session, clear_cookie_headers, set_cookie_header
from pluma_core.auth.store import StoredCredential, TokenRecord
from pluma_core.errors import BadRequest, Forbidden, NotFound, Unauthorized
from pluma_core.facade import PlumaDep
from pluma_core.ids import validate_id
from pluma_core.limits import JSON_BODY_MAX

AnyRequest = Request[Any, Any, Any]
TRUSTED_METHODS = frozenset({"session", "loopback", "disabled"})
"""Who may enrol, list and revoke passkeys and manage tokens. Not ``grace``: an anonymous
visitor on a fresh RP ID must not list or revoke passkeys of another RP ID, nor mint a token
that outlives the grace. Not ``bearer``: a script's token must not enrol a passkey of its own
(and through it mint more tokens) or revoke the owner's passkeys."""


def _info(request: AnyRequest) -> AuthInfo:
    info = request.scope.get("state", {}).get(STATE_KEY)
    if info is None:  # the gate is disabled (PLUMA_DISABLE_PLUGINS=auth never reaches here)
        raise Unauthorized("authentication required")
    return info


def _require_trusted(request: AnyRequest) -> AuthInfo:
    info = _info(request)
    if info.method not in TRUSTED_METHODS:
        raise Unauthorized("sign in with a passkey first")
    return info


def _passkey_site(request: AnyRequest) -> RequestSite:
    site = request_site(request.scope)
    if not passkeys_supported(site.host):
        raise BadRequest(IP_HOST_HINT)
    return site


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _session_response(service: AuthService, content: Any, site: RequestSite, cid: str) -> Response[Any]:
    now = time.time()
    cookie = set_cookie_header(service.signer.sign(Session(cid=cid, rp=site.rp_id, iat=now, seen=now)), site.https)
    return Response(content=content, status_code=HTTP_200_OK, headers={"set-cookie": cookie})


def _credential_out(record: StoredCredential) -> CredentialOut:
    return CredentialOut(id=record.id, device_name=record.device_name, rp_id=record.rp_id,
                         created_at=record.created_at, last_used_at=record.last_used_at,
                         backed_up=record.backup_state)


@get("/auth/cli", include_in_schema=False, media_type="text/html")
async def cli_page() -> str:
    """The page ``pluma auth login`` opens: the user allows, the token goes to the CLI's port."""
    return CLI_HTML


@get("/auth/cli.js", include_in_schema=False, media_type="text/javascript")
async def cli_script() -> str:
    """Script of the CLI sign-in page (a file, so the strict CSP needs no inline script)."""
    return CLI_JS


class AuthController(Controller):
    """Passkeys, sessions and bearer tokens."""

    path = "/api/auth"
    tags = ["auth"]
    request_max_body_size = JSON_BODY_MAX

    @get("/status", sync_to_thread=True)
    def status(self, pluma: PlumaDep, request: AnyRequest) -> AuthStatus:
        """For the calling origin: is auth on, are we signed in, is grace or the bypass open."""
        service = auth_service(pluma)
        info = _info(request)
        site = request_site(request.scope)
        supported = passkeys_supported(site.host)
        return AuthStatus(
            require_auth=service.config().require_auth,
            authenticated=info.authenticated,
            grace=info.grace,
            loopback_bypass=info.loopback_bypass,
            rp_id=site.rp_id,
            credential_count=service.store.count(site.rp_id) if supported else 0,
            passkeys_supported=supported,
            hint=None if supported else IP_HOST_HINT,
        )

    @post("/register/begin", sync_to_thread=True, status_code=HTTP_200_OK)
    def register_begin(self, pluma: PlumaDep, request: AnyRequest, data: JSONBody[Any] = None) -> dict[str, Any]:
        """Creation options for a new passkey on this RP ID (grace or a signed-in user only)."""
        info = _info(request)
        if info.method not in TRUSTED_METHODS | {"grace"}:
            raise Unauthorized("sign in with a passkey first")
        site = _passkey_site(request)
        try:
            body = msgspec.convert(data or {}, RegisterBegin)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"invalid body: {exc}") from exc
        name = (body.device_name or "").strip()[:64] or device_name_from_user_agent(request.headers.get("user-agent"))
        service = auth_service(pluma)
        return service.ceremonies.register_begin(
            rp_id=site.rp_id, origin=site.origin, user_handle=service.store.user_handle(), device_name=name,
            existing=service.store.credentials(site.rp_id),
        )

    @post("/register/finish", sync_to_thread=True)
    def register_finish(self, pluma: PlumaDep, request: AnyRequest, data: JSONBody[Any]) -> Response[Any]:
        """Verify the attestation, store the passkey, and sign this browser in."""
        info = _info(request)
        if info.method not in TRUSTED_METHODS | {"grace"}:
            raise Unauthorized("sign in with a passkey first")
        site = _passkey_site(request)
        service = auth_service(pluma)
        record = service.ceremonies.register_finish(_object(data), rp_id=site.rp_id, origin=site.origin)
        if service.store.credential_by_raw_id(record.credential_id) is not None:
            raise BadRequest("this passkey is already enrolled")
        record = service.store.add_credential(record)
        return _session_response(service, Registered(id=record.id, device_name=record.device_name), site, record.id)

    @post("/login/begin", sync_to_thread=True, status_code=HTTP_200_OK)
    def login_begin(self, pluma: PlumaDep, request: AnyRequest) -> dict[str, Any]:
        """Request options listing this RP ID's passkeys."""
        site = _passkey_site(request)
        service = auth_service(pluma)
        return service.ceremonies.login_begin(rp_id=site.rp_id, origin=site.origin,
                                              existing=service.store.credentials(site.rp_id))

    @post("/login/finish", sync_to_thread=True)
    def login_finish(self, pluma: PlumaDep, request: AnyRequest, data: JSONBody[Any]) -> Response[Any]:
        """Verify the assertion and set the session cookie."""
        site = _passkey_site(request)
        service = auth_service(pluma)
        credential = _object(data)
        raw_id = credential.get("rawId") or credential.get("id")
        if not isinstance(raw_id, str) or len(raw_id) > 1400:
            raise BadRequest("malformed credential: no id")
        stored = service.store.credential_by_raw_id(raw_id.rstrip("="))
        record = service.ceremonies.login_finish(credential, stored, rp_id=site.rp_id, origin=site.origin,
                                                 user_handle=service.store.user_handle())
        service.store.update_credential(record)
        return _session_response(service, {"id": record.id, "device_name": record.device_name}, site, record.id)

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, request: AnyRequest) -> Response[None]:
        """Clear the session cookie."""
        https = request_site(request.scope).https
        return Response(content=None, status_code=HTTP_204_NO_CONTENT,
                        headers={"set-cookie": clear_cookie_headers(https)[0]})

    @get("/credentials", sync_to_thread=True)
    def credentials(self, pluma: PlumaDep, request: AnyRequest) -> list[CredentialOut]:
        """Enrolled passkeys of every RP ID."""
        _require_trusted(request)
        return [_credential_out(c) for c in auth_service(pluma).store.credentials()]

    @delete("/credentials/{cid:str}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def revoke_credential(self, pluma: PlumaDep, request: AnyRequest, cid: FromPath[str]) -> None:
        """Revoke a passkey: sessions it made fail from their next request."""
        _require_trusted(request)
        if not auth_service(pluma).store.delete_credential(validate_id(cid, "credential id")):
            raise NotFound(f"no passkey {cid!r}")

    @post("/token", sync_to_thread=True, status_code=HTTP_200_OK)
    def mint_token(self, pluma: PlumaDep, request: AnyRequest, data: JSONBody[Any] = None) -> TokenOut:
        """Mint a bearer token (shown once). Needs a session, or the loopback bypass."""
        info = _info(request)
        if info.method not in ("session", "loopback", "disabled"):
            raise Forbidden("minting a token needs a passkey session") if info.method == "bearer" else Unauthorized(
                "sign in with a passkey first")
        try:
            body = msgspec.convert(data or {}, TokenIn)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"invalid body: {exc}") from exc
        token, record = auth_service(pluma).store.mint_token(body.label.strip()[:64] or "token")
        return TokenOut(token=token, id=record.id, label=record.label)

    @delete("/token", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def revoke_own_token(self, pluma: PlumaDep, request: AnyRequest) -> None:
        """Revoke the bearer token this request carries (``pluma auth logout``)."""
        info = _info(request)
        if info.method != "bearer" or info.token_id is None:
            raise BadRequest("this request carries no bearer token")
        auth_service(pluma).store.revoke_token(info.token_id)

    @get("/tokens", sync_to_thread=True)
    def tokens(self, pluma: PlumaDep, request: AnyRequest) -> list[TokenRecord]:
        """Bearer tokens (labels and dates; never the tokens)."""
        _require_trusted(request)
        return auth_service(pluma).store.tokens()

    @delete("/tokens/{tid:str}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def revoke_token(self, pluma: PlumaDep, request: AnyRequest, tid: FromPath[str]) -> None:
        """Revoke any bearer token by id."""
        _require_trusted(request)
        if not auth_service(pluma).store.revoke_token(validate_id(tid, "token id")):
            raise NotFound(f"no token {tid!r}")

    @get("/whoami", sync_to_thread=True)
    def whoami(self, request: AnyRequest) -> WhoAmI:
        """How this request was let in."""
        info = _info(request)
        return WhoAmI(method=info.method, credential_id=info.credential_id, device_name=info.device_name,
                      token_id=info.token_id, rp_id=info.rp_id)
