"""AES-256-GCM for sensitive columns: fresh 96-bit nonce per write, row identity as AAD."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pluma_core.errors import StartupError
from pluma_core.storage.secrets import SecretStore

STORAGE_KEY_NAME = "storage-key"
_VERSION = b"\x01"
_KEY_CHECK_AAD = b"pluma:key-check"
_KEY_CHECK_TEXT = b"pluma storage key check"


class DecryptionError(Exception):
    """A ciphertext failed authentication: wrong key, tampering, or a value moved between rows."""


class Cipher:
    """Encrypts and decrypts values bound to an associated-data string (the row identity)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("storage key must be 32 bytes")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, aad: str) -> bytes:
        """``version || nonce || ciphertext+tag``."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad.encode("utf-8"))

    def decrypt(self, blob: bytes, aad: str) -> bytes:
        """Reverse of :meth:`encrypt`; raises :class:`DecryptionError` on any mismatch."""
        if len(blob) < 29 or blob[0] != _VERSION[0]:
            raise DecryptionError("not a Pluma ciphertext")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], aad.encode())
        except InvalidTag as exc:
            raise DecryptionError("ciphertext failed authentication") from exc

    def encrypt_text(self, text: str, aad: str) -> bytes:
        """Encrypt a UTF-8 string."""
        return self.encrypt(text.encode("utf-8"), aad)

    def decrypt_text(self, blob: bytes, aad: str) -> str:
        """Decrypt to a UTF-8 string."""
        return self.decrypt(blob, aad).decode("utf-8")

    def key_check_blob(self) -> bytes:
        """A value stored beside the data so a wrong key is caught at start-up."""
        return self.encrypt(_KEY_CHECK_TEXT, _KEY_CHECK_AAD.decode())

    def verify_key_check(self, blob: bytes) -> bool:
        """True when ``blob`` was written with this key."""
        try:
            return self.decrypt(blob, _KEY_CHECK_AAD.decode()) == _KEY_CHECK_TEXT
        except DecryptionError:
            return False


def load_storage_key(secrets: SecretStore) -> bytes | None:
    """The install's 32-byte key from the secret store, or ``None`` when there is none."""
    stored = secrets.get(STORAGE_KEY_NAME)
    if stored:
        try:
            key = base64.b64decode(stored, validate=True)
        except ValueError as exc:
            raise StartupError(f"the storage key in {secrets.description} is not valid base64") from exc
        if len(key) != 32:
            raise StartupError(f"the storage key in {secrets.description} is not 32 bytes")
        return key
    return None


def create_storage_key(secrets: SecretStore) -> bytes:
    """A fresh random key, stored in the secret store (first boot only)."""
    key = os.urandom(32)
    secrets.set(STORAGE_KEY_NAME, base64.b64encode(key).decode("ascii"))
    return key
