"""Passkey credentials (encrypted) and bearer-token hashes in ``pluma.db``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

import msgspec

from pluma_core.ids import new_id
from pluma_core.registry_types import Migrations
from pluma_core.storage.crypto import Cipher
from pluma_core.storage.db import Database

MIGRATIONS = Migrations(
    namespace="auth",
    steps=[
        """
        CREATE TABLE auth_credentials (
            id TEXT PRIMARY KEY,
            rp_id TEXT NOT NULL,
            lookup TEXT NOT NULL UNIQUE,
            data BLOB NOT NULL,
            created_at REAL NOT NULL,
            last_used_at REAL
        );
        CREATE INDEX auth_credentials_rp ON auth_credentials(rp_id);
        CREATE TABLE auth_tokens (
            id TEXT PRIMARY KEY,
            hash TEXT NOT NULL UNIQUE,
            label TEXT NOT NULL,
            created_at REAL NOT NULL,
            last_used_at REAL
        );
        """
    ],
)

TOKEN_PREFIX = "pluma_"
USER_HANDLE_META = "auth-user-handle"


class StoredCredential(msgspec.Struct, kw_only=True):
    """One enrolled passkey; the whole record is encrypted at rest."""

    id: str
    rp_id: str
    credential_id: str
    public_key: str
    sign_count: int
    backup_eligible: bool
    backup_state: bool
    device_name: str
    transports: list[str] = msgspec.field(default_factory=list)
    aaguid: str = ""
    created_at: float = 0.0
    last_used_at: float | None = None


class TokenRecord(msgspec.Struct, kw_only=True):
    """A bearer token as listed: never the token itself."""

    id: str
    label: str
    created_at: float
    last_used_at: float | None = None


def _lookup(credential_id: str) -> str:
    return hashlib.sha256(credential_id.encode("ascii")).hexdigest()


def token_hash(token: str) -> str:
    """SHA-256 of a bearer token (the only form stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AuthStore:
    """Credential and token rows; ids are server-made hex, so they are safe in paths."""

    def __init__(self, db: Database, cipher: Cipher) -> None:
        self.db = db
        self.cipher = cipher

    # -- the install's WebAuthn user -----------------------------------------------------------
    def user_handle(self) -> bytes:
        """The one WebAuthn ``user.id`` of this install (random, created on first use)."""
        stored = self.db.get_meta(USER_HANDLE_META)
        if stored is None:
            stored = secrets.token_bytes(16)
            self.db.set_meta(USER_HANDLE_META, stored)
        return stored

    # -- credentials ---------------------------------------------------------------------------
    def _decode(self, row: Any) -> StoredCredential:
        plain = self.cipher.decrypt(bytes(row["data"]), f"auth-credential:{row['id']}")
        record = msgspec.json.decode(plain, type=StoredCredential)
        record.created_at = float(row["created_at"])
        record.last_used_at = row["last_used_at"]
        return record

    def _encode(self, record: StoredCredential) -> bytes:
        return self.cipher.encrypt(msgspec.json.encode(record), f"auth-credential:{record.id}")

    def add_credential(self, record: StoredCredential) -> StoredCredential:
        """Store a new passkey (``record.id`` is assigned here)."""
        record.id = new_id()
        record.created_at = time.time()
        self.db.execute(
            "INSERT INTO auth_credentials(id, rp_id, lookup, data, created_at) VALUES(?, ?, ?, ?, ?)",
            (record.id, record.rp_id, _lookup(record.credential_id), self._encode(record), record.created_at),
        )
        return record

    def update_credential(self, record: StoredCredential) -> None:
        """Persist a new sign count, backup state and last-use time."""
        self.db.execute(
            "UPDATE auth_credentials SET data = ?, last_used_at = ? WHERE id = ?",
            (self._encode(record), record.last_used_at, record.id),
        )

    def credential_by_raw_id(self, credential_id: str) -> StoredCredential | None:
        """Look up by the authenticator's credential id (base64url)."""
        row = self.db.query_one("SELECT * FROM auth_credentials WHERE lookup = ?", (_lookup(credential_id),))
        return None if row is None else self._decode(row)

    def credential(self, cid: str) -> StoredCredential | None:
        """Look up by our id."""
        row = self.db.query_one("SELECT * FROM auth_credentials WHERE id = ?", (cid,))
        return None if row is None else self._decode(row)

    def credential_exists(self, cid: str) -> bool:
        """Cheap check used on every session-authenticated request."""
        return self.db.query_one("SELECT 1 FROM auth_credentials WHERE id = ?", (cid,)) is not None

    def credentials(self, rp_id: str | None = None) -> list[StoredCredential]:
        """All passkeys, or those of one RP ID, oldest first."""
        if rp_id is None:
            rows = self.db.query("SELECT * FROM auth_credentials ORDER BY created_at")
        else:
            rows = self.db.query("SELECT * FROM auth_credentials WHERE rp_id = ? ORDER BY created_at", (rp_id,))
        return [self._decode(row) for row in rows]

    def count(self, rp_id: str | None = None) -> int:
        """How many passkeys exist (for one RP ID, or in all)."""
        if rp_id is None:
            row = self.db.query_one("SELECT COUNT(*) AS n FROM auth_credentials")
        else:
            row = self.db.query_one("SELECT COUNT(*) AS n FROM auth_credentials WHERE rp_id = ?", (rp_id,))
        return int(row["n"]) if row else 0

    def rp_ids(self) -> list[str]:
        """The distinct RP IDs that hold at least one passkey."""
        return [row["rp_id"] for row in self.db.query("SELECT DISTINCT rp_id FROM auth_credentials")]

    def delete_credential(self, cid: str) -> bool:
        """Revoke a passkey; sessions it made stop working on their next request."""
        return self.db.execute("DELETE FROM auth_credentials WHERE id = ?", (cid,)).rowcount > 0

    # -- bearer tokens -------------------------------------------------------------------------
    def mint_token(self, label: str) -> tuple[str, TokenRecord]:
        """A fresh ``pluma_...`` token (returned once) and its listed record."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = TokenRecord(id=new_id(), label=label, created_at=time.time())
        self.db.execute(
            "INSERT INTO auth_tokens(id, hash, label, created_at) VALUES(?, ?, ?, ?)",
            (record.id, token_hash(token), record.label, record.created_at),
        )
        return token, record

    def token_for(self, token: str) -> TokenRecord | None:
        """The record of a presented token, or ``None``; records the use."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = token_hash(token)
        row = self.db.query_one("SELECT * FROM auth_tokens WHERE hash = ?", (digest,))
        # The lookup is by hash, so timing reveals nothing about the token; compare anyway.
        if row is None or not hmac.compare_digest(row["hash"], digest):
            return None
        now = time.time()
        self.db.execute("UPDATE auth_tokens SET last_used_at = ? WHERE id = ?", (now, row["id"]))
        return TokenRecord(id=row["id"], label=row["label"], created_at=row["created_at"], last_used_at=now)

    def tokens(self) -> list[TokenRecord]:
        """Every token's record, oldest first."""
        rows = self.db.query("SELECT id, label, created_at, last_used_at FROM auth_tokens ORDER BY created_at")
        return [TokenRecord(id=r["id"], label=r["label"], created_at=r["created_at"],
                            last_used_at=r["last_used_at"]) for r in rows]

    def revoke_token(self, token_id: str) -> bool:
        """Delete a token by id."""
        return self.db.execute("DELETE FROM auth_tokens WHERE id = ?", (token_id,)).rowcount > 0
