"""Connection profiles in ``pluma.db`` (metadata only) and the active profile id.

API keys never touch this table: they live in the keyring as ``connection:<id>``.
"""

from __future__ import annotations

from typing import Any

from pluma_core.clock import now_iso
from pluma_core.registry_types import Migrations
from pluma_core.storage.db import Database

MIGRATIONS = Migrations(
    namespace="llm",
    steps=[
        """
        CREATE TABLE llm_connections (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            compat TEXT NOT NULL,
            base_url TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE llm_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    ],
)

_ACTIVE = "active_id"
Profile = dict[str, Any]


class ConnectionStore:
    """Profiles and the active id. Synchronous; call off the event loop."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> list[Profile]:
        """Every profile, oldest first."""
        return [dict(row) for row in self._db.query("SELECT * FROM llm_connections ORDER BY created_at, id")]

    def get(self, cid: str) -> Profile | None:
        """One profile, or ``None``."""
        row = self._db.query_one("SELECT * FROM llm_connections WHERE id = ?", (cid,))
        return None if row is None else dict(row)

    def save(self, cid: str, *, name: str, compat: str, base_url: str, model: str) -> tuple[Profile, bool]:
        """Create or update; returns the profile and whether it was created. The first becomes active."""
        stamp = now_iso()
        with self._db.transaction() as conn:
            existed = conn.execute("SELECT 1 FROM llm_connections WHERE id = ?", (cid,)).fetchone() is not None
            conn.execute(
                "INSERT INTO llm_connections(id, name, compat, base_url, model, created_at, updated_at) "
                "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                "compat = excluded.compat, base_url = excluded.base_url, model = excluded.model, "
                "updated_at = excluded.updated_at",
                (cid, name, compat, base_url, model, stamp, stamp),
            )
            active = conn.execute("SELECT value FROM llm_state WHERE key = ?", (_ACTIVE,)).fetchone()
            if active is None:
                conn.execute("INSERT INTO llm_state(key, value) VALUES(?, ?)", (_ACTIVE, cid))
        profile = self.get(cid)
        assert profile is not None
        return profile, not existed

    def delete(self, cid: str) -> bool:
        """Remove a profile; an active one hands over to the oldest remaining (or none)."""
        with self._db.transaction() as conn:
            if conn.execute("DELETE FROM llm_connections WHERE id = ?", (cid,)).rowcount == 0:
                return False
            active = conn.execute("SELECT value FROM llm_state WHERE key = ?", (_ACTIVE,)).fetchone()
            if active is not None and active["value"] == cid:
                nxt = conn.execute("SELECT id FROM llm_connections ORDER BY created_at, id LIMIT 1").fetchone()
                if nxt is None:
                    conn.execute("DELETE FROM llm_state WHERE key = ?", (_ACTIVE,))
                else:
                    conn.execute("UPDATE llm_state SET value = ? WHERE key = ?", (nxt["id"], _ACTIVE))
        return True

    def active_id(self) -> str | None:
        """The active profile id, when that profile still exists."""
        row = self._db.query_one(
            "SELECT s.value AS id FROM llm_state s JOIN llm_connections c ON c.id = s.value WHERE s.key = ?",
            (_ACTIVE,),
        )
        return None if row is None else str(row["id"])

    def set_active(self, cid: str) -> None:
        """Make ``cid`` the profile of the next chat."""
        self._db.execute(
            "INSERT INTO llm_state(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_ACTIVE, cid),
        )
