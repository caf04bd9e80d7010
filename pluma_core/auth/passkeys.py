"""WebAuthn ceremonies with py_webauthn: RP ID rules, single-use expiring challenges, verification."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from pluma_core.auth.store import StoredCredential
from pluma_core.errors import BadRequest
from pluma_core.security.hosts import is_ip_host

RP_NAME = "Pluma"
CHALLENGE_TTL = 300.0
MAX_PENDING = 1024
IP_HOST_HINT = (
    "browsers do not allow passkeys on an IP address: open Pluma by its host name, or use a bearer "
    "token (`pluma auth login`, or POST /api/auth/token from a signed-in browser)"
)


def rp_id_for(host: str) -> str:
    """The RP ID of a request host: the host without port; ``*.ts.net`` names collapse to the
    tailnet (``pluma.alice.ts.net`` -> ``alice.ts.net``) so one passkey serves every machine."""
    host = host.lower().rstrip(".")
    if host.endswith(".ts.net") and host.count(".") >= 3:
        return host.split(".", 1)[1]
    return host


def passkeys_supported(host: str) -> bool:
    """False for IP-address hosts, where browsers refuse WebAuthn."""
    return bool(host) and not is_ip_host(host)


def device_name_from_user_agent(user_agent: str | None) -> str:
    """A default passkey name guessed from the User-Agent."""
    ua = user_agent or ""
    for needle, name in (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android phone"),
                         ("Macintosh", "Mac"), ("Windows", "Windows PC"), ("Linux", "Linux PC")):
        if needle in ua:
            return name
    return "Browser"


@dataclass
class Pending:
    """A challenge handed out by a ``begin`` route and not yet used."""

    kind: str
    challenge: bytes
    rp_id: str
    origin: str
    expires: float
    device_name: str = ""


class ChallengeStore:
    """Challenges kept in memory: single use (taken on first finish, pass or fail), 5-minute life."""

    def __init__(self) -> None:
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def put(self, pending: Pending) -> None:
        """Remember a fresh challenge (the oldest are dropped past the cap)."""
        now = time.monotonic()
        with self._lock:
            for key in [k for k, p in self._pending.items() if p.expires < now]:
                del self._pending[key]
            while len(self._pending) >= MAX_PENDING:
                del self._pending[next(iter(self._pending))]
            self._pending[bytes_to_base64url(pending.challenge)] = pending

    def take(self, challenge_b64: str, kind: str) -> Pending:
        """Remove and return the challenge; 400 when unknown, used, expired or of another kind."""
        with self._lock:
            pending = self._pending.pop(challenge_b64.rstrip("="), None)
        if pending is None or pending.kind != kind or pending.expires < time.monotonic():
            raise BadRequest("unknown, used or expired challenge: start again")
        return pending


def _client_challenge(credential: Any) -> str:
    """The challenge the browser signed, read from ``response.clientDataJSON``."""
    try:
        client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
        challenge = client_data["challenge"]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest("malformed credential: no clientDataJSON challenge") from exc
    if not isinstance(challenge, str):
        raise BadRequest("malformed credential: no clientDataJSON challenge")
    return challenge


def _options_json(options: Any) -> dict[str, Any]:
    return json.loads(options_to_json(options))


class Ceremonies:
    """Begin/finish for registration and login; verification is py_webauthn's."""

    def __init__(self) -> None:
        self.challenges = ChallengeStore()

    def register_begin(
        self, *, rp_id: str, origin: str, user_handle: bytes, device_name: str, existing: list[StoredCredential]
    ) -> dict[str, Any]:
        """``PublicKeyCredentialCreationOptions`` as JSON; attestation ``none``."""
        options = generate_registration_options(
            rp_id=rp_id,
            rp_name=RP_NAME,
            user_name="pluma",
            user_id=user_handle,
            user_display_name="Pluma",
            attestation=AttestationConveyancePreference.NONE,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.credential_id)) for c in existing
            ],
        )
        self.challenges.put(Pending("register", options.challenge, rp_id, origin,
                                    time.monotonic() + CHALLENGE_TTL, device_name))
        return _options_json(options)

    def register_finish(self, credential: Any, *, rp_id: str, origin: str) -> StoredCredential:
        """Verify an attestation for this RP ID and origin; returns the record to store."""
        pending = self.challenges.take(_client_challenge(credential), "register")
        if (pending.rp_id, pending.origin) != (rp_id, origin):
            raise BadRequest("the challenge was issued to another origin")
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=pending.challenge,
                expected_rp_id=rp_id, expected_origin=origin,
            )
        except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"passkey registration failed: {exc}") from exc
        transports = credential.get("response", {}).get("transports") if isinstance(credential, dict) else None
        return StoredCredential(
            id="",
            rp_id=rp_id,
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
            backup_state=verified.credential_backed_up,
            device_name=pending.device_name,
            transports=[t for t in (transports or []) if isinstance(t, str)][:8],
            aaguid=verified.aaguid,
        )

    def login_begin(self, *, rp_id: str, origin: str, existing: list[StoredCredential]) -> dict[str, Any]:
        """``PublicKeyCredentialRequestOptions`` listing this RP ID's passkeys."""
        options = generate_authentication_options(
            rp_id=rp_id,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c.credential_id)) for c in existing
            ],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        self.challenges.put(Pending("login", options.challenge, rp_id, origin, time.monotonic() + CHALLENGE_TTL))
        return _options_json(options)

    def login_finish(
        self, credential: Any, stored: StoredCredential | None, *, rp_id: str, origin: str, user_handle: bytes
    ) -> StoredCredential:
        """Verify an assertion against the stored passkey; returns it with counters updated.

        ``userHandle`` may be ``""`` or missing (some authenticators): the passkey is found by its
        credential id either way, and a non-empty handle must be this install's.
        """
        pending = self.challenges.take(_client_challenge(credential), "login")
        if (pending.rp_id, pending.origin) != (rp_id, origin):
            raise BadRequest("the challenge was issued to another origin")
        if stored is None or stored.rp_id != rp_id:
            raise BadRequest("unknown passkey for this site")
        handle = credential.get("response", {}).get("userHandle")
        if handle and base64url_to_bytes(handle) != user_handle:
            raise BadRequest("the passkey belongs to another user")
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=pending.challenge, expected_rp_id=rp_id,
                expected_origin=origin, credential_public_key=base64url_to_bytes(stored.public_key),
                credential_current_sign_count=stored.sign_count,
            )
        except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"passkey sign-in failed: {exc}") from exc
        eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
        if eligible != stored.backup_eligible:
            raise BadRequest("passkey sign-in failed: backup eligibility cannot change")
        stored.sign_count = verified.new_sign_count
        stored.backup_state = verified.credential_backed_up
        stored.last_used_at = time.time()
        return stored
