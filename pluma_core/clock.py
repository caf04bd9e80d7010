"""Timestamps as the API writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """The current time as RFC 3339 UTC with milliseconds (``2026-12-03T17:23:25.557Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
