"""Signed session cookies: ``base64url(json) . base64url(HMAC-SHA256(session_key, json))``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from pathlib import Path

import msgspec

from pluma_core.storage.atomic import atomic_write

SESSION_KEY_FILE = "session-key"
SECURE_COOKIE = "__Host-pluma_sess"
PLAIN_COOKIE = "pluma_sess"
MAX_IDLE = 30 * 24 * 3600
REFRESH_AFTER = 3600


class Session(msgspec.Struct, kw_only=True):
    """What a cookie carries: the credential that logged in, its RP ID, issue and last-seen times."""

    cid: str
    rp: str
    iat: float
    seen: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and checks cookies with the per-install 32-byte key in ``<data_dir>/session-key``.

    The key file (mode 0600) is created on first use; deleting it logs everyone out.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / SESSION_KEY_FILE
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def key(self) -> bytes:
        """The session key, created on first use."""
        with self._lock:
            if self._key is None:
                try:
                    key = self.path.read_bytes()
                except FileNotFoundError:
                    key = b""
                if len(key) != 32:
                    key = secrets.token_bytes(32)
                    atomic_write(self.path, key, mode=0o600)
                self._key = key
            return self._key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.key(), payload, hashlib.sha256).digest()

    def sign(self, session: Session) -> str:
        """The cookie value for ``session``."""
        payload = msgspec.json.encode(session)
        return _b64(payload) + "." + _b64(self._mac(payload))

    def verify(self, value: str, rp_id: str, now: float | None = None) -> Session | None:
        """The session if the MAC holds, it was seen within 30 days and is for ``rp_id``."""
        now = time.time() if now is None else now
        try:
            body, mac = value.split(".", 1)
            payload = _unb64(body)
            if not hmac.compare_digest(_unb64(mac), self._mac(payload)):
                return None
            session = msgspec.json.decode(payload, type=Session)
        except (ValueError, msgspec.DecodeError, json.JSONDecodeError):
            return None
        if now - session.seen > MAX_IDLE or session.seen > now + 300 or session.rp != rp_id:
            return None
        return session


def cookie_name(https: bool) -> str:
    """``__Host-pluma_sess`` over HTTPS, ``pluma_sess`` over plain HTTP."""
    return SECURE_COOKIE if https else PLAIN_COOKIE


def set_cookie_header(value: str, https: bool, max_age: int = MAX_IDLE) -> str:
    """A ``Set-Cookie`` value: HttpOnly, SameSite=Lax, Path=/, Secure and no Domain on HTTPS."""
    parts = [f"{cookie_name(https)}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if https:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie_headers(https: bool) -> list[str]:
    """Expire the session cookie under the name this transport uses."""
    return [set_cookie_header("", https, max_age=0)]
