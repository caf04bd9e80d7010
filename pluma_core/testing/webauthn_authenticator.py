"""A software WebAuthn authenticator (ES256, attestation ``none``) for browser-less tests.

It answers the JSON options Pluma's ``/api/auth/*/begin`` routes return with the JSON a browser
would post to ``.../finish``, signing with a real P-256 key from ``cryptography``. Knobs let a
test misbehave on purpose: another origin or RP ID, a tampered signature, a sign count going
backwards (a cloned authenticator), backup flags, and the ``userHandle`` shape.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
_MISSING = object()


def b64url(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Decode base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftwareAuthenticator:
    """One passkey: a credential id, a P-256 key, a sign counter and backup flags."""

    def __init__(
        self,
        *,
        origin: str,
        rp_id: str | None = None,
        sign_count: int = 0,
        counter_step: int = 1,
        backup_eligible: bool = False,
        backup_state: bool = False,
        user_verified: bool = True,
    ) -> None:
        self.origin = origin
        self.rp_id = rp_id
        self.credential_id = os.urandom(32)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.sign_count = sign_count
        self.counter_step = counter_step
        self.backup_eligible = backup_eligible
        self.backup_state = backup_state
        self.user_verified = user_verified
        self.user_handle: bytes | None = None

    def clone(self) -> SoftwareAuthenticator:
        """A copy sharing the key and credential id (its counter then diverges)."""
        twin = SoftwareAuthenticator(origin=self.origin, rp_id=self.rp_id)
        twin.__dict__.update(self.__dict__)
        return twin

    def _flags(self, extra: int = 0) -> int:
        flags = UP | extra
        if self.user_verified:
            flags |= UV
        if self.backup_eligible:
            flags |= BE
        if self.backup_state:
            flags |= BS
        return flags

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None) -> dict[str, Any]:
        """The registration credential JSON for ``PublicKeyCredentialCreationOptions``."""
        rp = rp_id or self.rp_id or options["rp"]["id"]
        self.user_handle = unb64url(options["user"]["id"])
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
        auth_data = hashlib.sha256(rp.encode()).digest() + bytes([self._flags(AT)]) + struct.pack(
            ">I", self.sign_count) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(self._client_data("webauthn.create", options["challenge"], origin)),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_handle: Any = _MISSING,
        tamper: bool = False,
    ) -> dict[str, Any]:
        """The assertion JSON for ``PublicKeyCredentialRequestOptions``; advances the counter.

        ``user_handle``: default the handle seen at registration; ``""`` or ``None`` to mimic
        authenticators that send an empty or no ``userHandle``.
        """
        rp = rp_id or self.rp_id or options["rpId"]
        if self.counter_step:
            self.sign_count += self.counter_step
        auth_data = hashlib.sha256(rp.encode()).digest() + bytes([self._flags()]) + struct.pack(">I", self.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
        response: dict[str, Any] = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
        }
        if user_handle is _MISSING:
            response["userHandle"] = b64url(self.user_handle) if self.user_handle else None
        elif user_handle is not None:
            response["userHandle"] = user_handle
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": response, "clientExtensionResults": {}}


def enroll(client: Any, authenticator: SoftwareAuthenticator, device_name: str = "Test key",
           **create: Any) -> Any:
    """Drive ``register/begin`` + ``register/finish`` over HTTP; returns the finish response."""
    begin = client.post("/api/auth/register/begin", json={"device_name": device_name})
    assert begin.status_code == 200, begin.text
    return client.post("/api/auth/register/finish", json=authenticator.create(begin.json(), **create))


def sign_in(client: Any, authenticator: SoftwareAuthenticator, **get: Any) -> Any:
    """Drive ``login/begin`` + ``login/finish`` over HTTP; returns the finish response."""
    begin = client.post("/api/auth/login/begin")
    assert begin.status_code == 200, begin.text
    return client.post("/api/auth/login/finish", json=authenticator.get(begin.json(), **get))
