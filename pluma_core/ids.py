"""Ids that reach a path, a database key or a keyring entry are checked here first."""

from __future__ import annotations

import re
import secrets

from pluma_core.errors import BadRequest

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_valid_id(value: str) -> bool:
    """True when ``value`` is 1-64 characters of ``[A-Za-z0-9_-]``."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def validate_id(value: str, what: str = "id") -> str:
    """Return ``value`` unchanged, or raise a 400 naming ``what``."""
    if not is_valid_id(value):
        raise BadRequest(f"invalid {what}: use 1-64 characters of A-Z, a-z, 0-9, '_' or '-'")
    return value


def new_id() -> str:
    """A fresh server-side id: 16 random bytes as hex."""
    return secrets.token_hex(16)
