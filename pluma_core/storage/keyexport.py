"""Wrap the storage key with a passphrase for backups (scrypt + AES-256-GCM).

File layout: ``PLUMAKEY`` magic, version byte, 16-byte salt, 12-byte nonce, then the sealed
32-byte key. The header is the associated data, so changing any byte of it is detected.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"PLUMAKEY"
VERSION = b"\x01"
# 2**17 costs ~128 MiB and a fraction of a second: slow for guessing, fine for a restore.
_SCRYPT_N = 2**17


class KeyFileError(Exception):
    """The key file is malformed or the passphrase is wrong."""


def _derive(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=8, p=1).derive(passphrase.encode("utf-8"))


def wrap_key(key: bytes, passphrase: str) -> bytes:
    """Seal ``key`` under ``passphrase``."""
    if not passphrase:
        raise KeyFileError("the passphrase must not be empty")
    salt, nonce = os.urandom(16), os.urandom(12)
    header = MAGIC + VERSION + salt + nonce
    return header + AESGCM(_derive(passphrase, salt)).encrypt(nonce, key, header)


def unwrap_key(blob: bytes, passphrase: str) -> bytes:
    """Open a file made by :func:`wrap_key`."""
    if len(blob) < 37 or not blob.startswith(MAGIC) or blob[8:9] != VERSION:
        raise KeyFileError("not a Pluma storage-key file")
    header, sealed = blob[:37], blob[37:]
    salt, nonce = header[9:25], header[25:37]
    try:
        key = AESGCM(_derive(passphrase, salt)).decrypt(nonce, sealed, header)
    except InvalidTag as exc:
        raise KeyFileError("wrong passphrase, or the file was changed") from exc
    if len(key) != 32:
        raise KeyFileError("the file does not hold a 32-byte key")
    return key
