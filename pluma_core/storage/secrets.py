"""Secrets (storage key, API keys) in the OS keyring, service ``pluma``.

Where no keyring backend works (headless Linux without Secret Service), secrets fall back to a
0600 JSON file outside the data dir, and start-up says so loudly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from pathlib import Path
from typing import Protocol

import keyring
import keyring.backend
import keyring.errors

from pluma_core.storage.atomic import atomic_write

SERVICE = "pluma"
log = logging.getLogger("pluma.secrets")


class SecretStore(Protocol):
    """Where secrets live. Names: ``storage-key``, ``connection:<id>``, ``image:<id>``, ..."""

    description: str

    def get(self, name: str) -> str | None:
        """The secret, or ``None``."""

    def set(self, name: str, value: str) -> None:
        """Store or replace a secret."""

    def delete(self, name: str) -> None:
        """Remove a secret; missing is fine."""


class KeyringSecretStore:
    """The OS keyring through the ``keyring`` library."""

    def __init__(self, backend: keyring.backend.KeyringBackend) -> None:
        self._backend = backend
        self.description = f"OS keyring ({type(backend).__module__}.{type(backend).__name__})"

    def get(self, name: str) -> str | None:
        return self._backend.get_password(SERVICE, name)

    def set(self, name: str, value: str) -> None:
        self._backend.set_password(SERVICE, name, value)

    def delete(self, name: str) -> None:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            self._backend.delete_password(SERVICE, name)


class FileSecretStore:
    """Fallback: one 0600 JSON file, used only when no keyring backend works."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"key file {path} (no OS keyring available)"
        self._lock = threading.Lock()

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._read().get(name)

    def set(self, name: str, value: str) -> None:
        with self._lock:
            data = self._read()
            data[name] = value
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            atomic_write(self.path, json.dumps(data, indent=1), mode=0o600)

    def delete(self, name: str) -> None:
        with self._lock:
            data = self._read()
            if data.pop(name, None) is not None:
                atomic_write(self.path, json.dumps(data, indent=1), mode=0o600)


def keyring_works(backend: keyring.backend.KeyringBackend) -> bool:
    """False for the ``fail``/``null`` backends and anything with no usable priority."""
    name = type(backend).__module__
    if name.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return False
    try:
        return float(getattr(backend, "priority", 1)) > 0
    except Exception:
        return False


def open_secret_store(fallback_dir: Path) -> SecretStore:
    """The OS keyring when one works, else the key file in ``fallback_dir`` (with a warning)."""
    backend = keyring.get_keyring()
    if keyring_works(backend):
        return KeyringSecretStore(backend)
    store = FileSecretStore(fallback_dir / "secrets.json")
    log.warning(
        "no OS keyring backend is available; secrets (the storage key and API keys) are kept in "
        "%s (mode 0600). Back it up with `pluma export-storage-key` and protect this machine.",
        store.path,
    )
    return store
