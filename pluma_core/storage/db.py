"""``pluma.db``: stdlib sqlite3 in WAL mode, one connection shared under a lock.

Statements are short (one row per message), so a single serialised connection is simpler and
faster here than a pool; handlers that touch the database run in the thread pool, not on the
event loop.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from pluma_core.errors import StartupError
from pluma_core.registry_types import Migrations

_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    namespace TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"""


class Database:
    """A thread-safe wrapper over one sqlite3 connection with per-namespace migrations."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(_BOOTSTRAP)
        with suppress(OSError):
            path.chmod(0o600)
        self._closed = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements atomically: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rollback on error)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """One statement in autocommit mode."""
        with self._lock:
            return self._conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """All rows of one query."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def query_tuples(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """All rows as plain tuples: cheaper than ``sqlite3.Row`` for large scans."""
        with self._lock:
            cursor = self._conn.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        """The first row of one query, or ``None``."""
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def get_meta(self, key: str) -> bytes | None:
        """A value from the ``meta`` table."""
        row = self.query_one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else bytes(row["value"])

    def set_meta(self, key: str, value: bytes) -> None:
        """Store a value in the ``meta`` table."""
        self.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def version(self, namespace: str) -> int:
        """The last migration step applied for ``namespace`` (0 for none)."""
        row = self.query_one("SELECT version FROM schema_migrations WHERE namespace = ?", (namespace,))
        return 0 if row is None else int(row["version"])

    def migrate(self, migrations: Migrations) -> int:
        """Apply the steps of ``migrations`` not applied yet; return how many ran."""
        current = self.version(migrations.namespace)
        if current > len(migrations.steps):
            raise StartupError(
                f"pluma.db has schema version {current} for {migrations.namespace!r}, newer than this "
                f"code knows ({len(migrations.steps)}); upgrade Pluma or restore a matching backup"
            )
        ran = 0
        for number, script in enumerate(migrations.steps[current:], start=current + 1):
            with self.transaction() as conn:
                for statement in _split_sql(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations(namespace, version) VALUES(?, ?) "
                    "ON CONFLICT(namespace) DO UPDATE SET version = excluded.version",
                    (migrations.namespace, number),
                )
            ran += 1
        return ran

    def close(self) -> None:
        """Checkpoint the WAL and close the connection."""
        with self._lock:
            if self._closed:
                return
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._conn.close()
                self._closed = True


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would commit our transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
