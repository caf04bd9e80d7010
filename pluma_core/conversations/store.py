"""Encrypted conversation storage in ``pluma.db``: one row per conversation, one per message.

Titles, drafts, message contents and every extra field are AES-GCM encrypted with the row
identity as associated data, so a ciphertext moved to another row fails to decrypt.
"""

from __future__ import annotations

from typing import Any

import msgspec

from pluma_core.clock import now_iso
from pluma_core.errors import BadRequest, NotFound, PlumaError
from pluma_core.ids import validate_id
from pluma_core.registry_types import Migrations
from pluma_core.storage.crypto import Cipher, DecryptionError
from pluma_core.storage.db import Database

from .schemas import CONVERSATION_FIELDS, MESSAGE_FIELDS

MIGRATIONS = Migrations(
    namespace="conversations",
    steps=[
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            title BLOB,
            draft BLOB,
            extra BLOB
        );
        CREATE TABLE messages (
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            id TEXT NOT NULL,
            role TEXT NOT NULL,
            created_at TEXT NOT NULL,
            content BLOB NOT NULL,
            extra BLOB,
            PRIMARY KEY (conversation_id, seq)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX messages_by_id ON messages(conversation_id, id);
        """
    ],
)

_MESSAGE_COLUMNS = "id, role, created_at, content, extra"
_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


class IntegrityError(PlumaError):
    """Stored ciphertext failed authentication: tampering, or a value moved between rows."""

    status_code = 500


class ConversationStore:
    """All reads and writes of conversations. Methods are synchronous; call them off the loop."""

    def __init__(self, db: Database, cipher: Cipher) -> None:
        self._db = db
        self._cipher = cipher

    # -- encryption helpers ------------------------------------------------------------------
    def _seal(self, value: Any, aad: str) -> bytes:
        return self._cipher.encrypt(_json_encode(value), aad)

    def _open(self, blob: bytes | None, aad: str, default: Any) -> Any:
        if blob is None:
            return default
        try:
            return _json_decode(self._cipher.decrypt(bytes(blob), aad))
        except DecryptionError as exc:
            # A wrong key is caught at start-up, so this is tampering or a value moved between rows.
            raise IntegrityError(f"stored data for {aad.rsplit(':', 1)[0]} failed its integrity check") from exc

    def _seal_extra(self, extra: dict[str, Any], aad: str) -> bytes | None:
        return self._seal(extra, aad) if extra else None

    # -- reading -----------------------------------------------------------------------------
    def _conversation(self, row: Any, messages: list[dict[str, Any]]) -> dict[str, Any]:
        cid = row["id"]
        record: dict[str, Any] = self._open(row["extra"], f"conversation:{cid}:extra", {})
        record.update(
            id=cid,
            title=self._open(row["title"], f"conversation:{cid}:title", ""),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            draft=self._open(row["draft"], f"conversation:{cid}:draft", ""),
            messages=messages,
        )
        return record

    def _message(self, row: Any, cid: str) -> dict[str, Any]:
        mid, role, created_at, content, extra = row[:5]
        message = {
            "id": mid,
            "role": role,
            "content": self._open(content, f"message:{cid}:{mid}:content", ""),
            "created_at": created_at,
        }
        if extra is not None:
            message.update(self._open(extra, f"message:{cid}:{mid}:extra", {}))
            message.update(id=mid, role=role, created_at=created_at)
        return message

    def list_all(self) -> list[dict[str, Any]]:
        """Every conversation with its full message array, newest first.

        A conversation whose stored data fails its integrity check is listed with only its id,
        dates and an ``error``, so one damaged row does not hide all the others.
        """
        conversations = self._db.query("SELECT * FROM conversations ORDER BY updated_at DESC, id")
        rows_by_id: dict[str, list[tuple[Any, ...]]] = {row["id"]: [] for row in conversations}
        # Primary-key order is (conversation_id, seq): one sequential scan, no sort.
        for row in self._db.query_tuples(f"SELECT {_MESSAGE_COLUMNS}, conversation_id FROM messages"):
            bucket = rows_by_id.get(row[5])
            if bucket is not None:
                bucket.append(row)
        listed = []
        for row in conversations:
            cid = row["id"]
            try:
                listed.append(self._conversation(row, [self._message(r, cid) for r in rows_by_id[cid]]))
            except IntegrityError as exc:
                listed.append({"id": cid, "created_at": row["created_at"], "updated_at": row["updated_at"],
                               "title": "", "draft": "", "messages": [], "error": exc.message})
        return listed

    def get(self, cid: str) -> dict[str, Any] | None:
        """One conversation, or ``None``."""
        row = self._db.query_one("SELECT * FROM conversations WHERE id = ?", (cid,))
        if row is None:
            return None
        rows = self._db.query_tuples(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq", (cid,)
        )
        return self._conversation(row, [self._message(r, cid) for r in rows])

    def require(self, cid: str) -> dict[str, Any]:
        """One conversation, or a 404."""
        record = self.get(cid)
        if record is None:
            raise NotFound(f"no conversation {cid!r}")
        return record

    def get_message(self, cid: str, mid: str) -> dict[str, Any] | None:
        """One message, or ``None``."""
        rows = self._db.query_tuples(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND id = ?", (cid, mid)
        )
        return self._message(rows[0], cid) if rows else None

    # -- writing -----------------------------------------------------------------------------
    def _insert_message(self, conn: Any, cid: str, message: dict[str, Any], seq: int) -> None:
        mid = validate_id(str(message["id"]), "message id")
        extra = {k: v for k, v in message.items() if k not in MESSAGE_FIELDS}
        conn.execute(
            "INSERT INTO messages(conversation_id, id, seq, role, created_at, content, extra) "
            "VALUES(?, ?, ?, ?, ?, ?, ?)",
            (
                cid,
                mid,
                seq,
                message["role"],
                message.get("created_at") or now_iso(),
                self._seal(message.get("content", ""), f"message:{cid}:{mid}:content"),
                self._seal_extra(extra, f"message:{cid}:{mid}:extra"),
            ),
        )

    def _ensure_row(self, conn: Any, cid: str, stamp: str) -> None:
        conn.execute(
            "INSERT INTO conversations(id, created_at, updated_at) VALUES(?, ?, ?) ON CONFLICT(id) DO NOTHING",
            (cid, stamp, stamp),
        )

    def put(self, cid: str, record: dict[str, Any]) -> dict[str, Any]:
        """Overwrite a conversation with ``record`` (already validated); the path id wins."""
        validate_id(cid, "conversation id")
        stamp = now_iso()
        messages = record.get("messages") or []
        seen: set[str] = set()
        for message in messages:
            mid = validate_id(str(message["id"]), "message id")
            if mid in seen:
                raise BadRequest(f"message id {mid!r} appears twice")
            seen.add(mid)
        extra = {k: v for k, v in record.items() if k not in CONVERSATION_FIELDS}
        with self._db.transaction() as conn:
            existing = conn.execute("SELECT created_at FROM conversations WHERE id = ?", (cid,)).fetchone()
            created = record.get("created_at") or (existing["created_at"] if existing else stamp)
            conn.execute("DELETE FROM messages WHERE conversation_id = ?", (cid,))
            conn.execute(
                "INSERT INTO conversations(id, created_at, updated_at, title, draft, extra) "
                "VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET created_at = excluded.created_at, "
                "updated_at = excluded.updated_at, title = excluded.title, draft = excluded.draft, "
                "extra = excluded.extra",
                (
                    cid,
                    created,
                    stamp,
                    self._seal(record.get("title") or "", f"conversation:{cid}:title"),
                    self._seal(record.get("draft") or "", f"conversation:{cid}:draft"),
                    self._seal_extra(extra, f"conversation:{cid}:extra"),
                ),
            )
            for seq, message in enumerate(messages):
                self._insert_message(conn, cid, message, seq)
        return self.require(cid)

    def delete(self, cid: str) -> bool:
        """Remove a conversation and its messages; False when it did not exist."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM conversations WHERE id = ?", (cid,)).rowcount > 0

    def set_draft(self, cid: str, draft: str) -> None:
        """Persist the composer draft, creating the conversation if it does not exist yet."""
        validate_id(cid, "conversation id")
        stamp = now_iso()
        with self._db.transaction() as conn:
            self._ensure_row(conn, cid, stamp)
            conn.execute(
                "UPDATE conversations SET draft = ?, updated_at = ? WHERE id = ?",
                (self._seal(draft, f"conversation:{cid}:draft"), stamp, cid),
            )

    def update_fields(self, cid: str, **fields: Any) -> None:
        """Merge extra fields (``character_id``, ``persona_id``, ``title``...) into a conversation."""
        validate_id(cid, "conversation id")
        stamp = now_iso()
        with self._db.transaction() as conn:
            self._ensure_row(conn, cid, stamp)
            row = conn.execute("SELECT extra FROM conversations WHERE id = ?", (cid,)).fetchone()
            extra = self._open(row["extra"], f"conversation:{cid}:extra", {})
            title = fields.pop("title", None)
            extra.update({k: v for k, v in fields.items() if k not in CONVERSATION_FIELDS})
            conn.execute(
                "UPDATE conversations SET extra = ?, updated_at = ? WHERE id = ?",
                (self._seal_extra(extra, f"conversation:{cid}:extra"), stamp, cid),
            )
            if title is not None:
                conn.execute(
                    "UPDATE conversations SET title = ? WHERE id = ?",
                    (self._seal(title, f"conversation:{cid}:title"), cid),
                )

    def upsert_message(self, cid: str, message: dict[str, Any], *, create: bool = True) -> dict[str, Any] | None:
        """Replace a message in place, or append it.

        With ``create=True`` a missing conversation is created. With ``create=False`` nothing is
        written and ``None`` is returned when the conversation does not exist: an answer that
        finishes after its conversation was deleted must not bring the conversation back.
        """
        validate_id(cid, "conversation id")
        mid = validate_id(str(message["id"]), "message id")
        stamp = now_iso()
        with self._db.transaction() as conn:
            if create:
                self._ensure_row(conn, cid, stamp)
            elif conn.execute("SELECT 1 FROM conversations WHERE id = ?", (cid,)).fetchone() is None:
                return None
            row = conn.execute(
                "SELECT seq, created_at FROM messages WHERE conversation_id = ? AND id = ?", (cid, mid)
            ).fetchone()
            if row is None:
                top = conn.execute(
                    "SELECT COALESCE(MAX(seq), -1) AS top FROM messages WHERE conversation_id = ?", (cid,)
                ).fetchone()
                self._insert_message(conn, cid, message, int(top["top"]) + 1)
            else:
                merged = {**message, "created_at": message.get("created_at") or row["created_at"]}
                conn.execute("DELETE FROM messages WHERE conversation_id = ? AND id = ?", (cid, mid))
                self._insert_message(conn, cid, merged, int(row["seq"]))
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (stamp, cid))
        found = self.get_message(cid, mid)
        assert found is not None
        return found

    def patch_message(self, cid: str, mid: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Edit one message in place (fields given replace, others stay); 404 when missing."""
        with self._db.transaction() as conn:
            row = conn.execute(
                f"SELECT seq, {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND id = ?", (cid, mid)
            ).fetchone()
            if row is None:
                raise NotFound(f"no message {mid!r} in conversation {cid!r}")
            current = self._message(tuple(row)[1:], cid)
            current.update({k: v for k, v in changes.items() if k not in {"id", "created_at"}})
            conn.execute("DELETE FROM messages WHERE conversation_id = ? AND id = ?", (cid, mid))
            self._insert_message(conn, cid, current, int(row["seq"]))
            conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now_iso(), cid))
        found = self.get_message(cid, mid)
        assert found is not None
        return found

    def delete_message(self, cid: str, mid: str) -> bool:
        """Remove one message; False when it did not exist."""
        with self._db.transaction() as conn:
            gone = conn.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND id = ?", (cid, mid)
            ).rowcount
            if gone:
                conn.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now_iso(), cid))
            return gone > 0
