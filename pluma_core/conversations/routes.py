"""HTTP for ``/api/conversations``: validation and status codes only; storage is in store.py."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, delete, get, patch, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from pluma_core.errors import BadRequest, NotFound
from pluma_core.facade import PlumaDep
from pluma_core.ids import validate_id
from pluma_core.limits import CHAT_BODY_MAX, JSON_BODY_MAX

from .schemas import ConversationIn, DraftIn, MessagePatch


def _validated(data: Any, schema: type[msgspec.Struct]) -> dict[str, Any]:
    """Check ``data`` against ``schema`` but return it whole, unknown keys included."""
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    try:
        msgspec.convert(data, schema)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid body: {exc}") from exc
    return data


class ConversationController(Controller):
    """Encrypted conversations, one message per row."""

    path = "/api/conversations"
    tags = ["conversations"]

    @get(sync_to_thread=True)
    def list_conversations(self, pluma: PlumaDep) -> list[dict[str, Any]]:
        """All conversations with their full message arrays."""
        return pluma.conversations.list_all()

    @get("/{cid:str}", sync_to_thread=True)
    def get_conversation(self, pluma: PlumaDep, cid: FromPath[str]) -> dict[str, Any]:
        """One conversation."""
        return pluma.conversations.require(validate_id(cid, "conversation id"))

    @put("/{cid:str}", sync_to_thread=True, request_max_body_size=CHAT_BODY_MAX)
    def put_conversation(self, pluma: PlumaDep, cid: FromPath[str], data: JSONBody[Any]) -> dict[str, Any]:
        """Save (overwrite) a conversation."""
        validate_id(cid, "conversation id")
        return pluma.conversations.put(cid, _validated(data, ConversationIn))

    @delete("/{cid:str}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def delete_conversation(self, pluma: PlumaDep, cid: FromPath[str]) -> None:
        """Remove a conversation."""
        if not pluma.conversations.delete(validate_id(cid, "conversation id")):
            raise NotFound(f"no conversation {cid!r}")

    @patch("/{cid:str}/draft", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT,
           request_max_body_size=JSON_BODY_MAX)
    def patch_draft(self, pluma: PlumaDep, cid: FromPath[str], data: JSONBody[Any]) -> None:
        """Persist the composer draft (creates the conversation if needed)."""
        body = _validated(data, DraftIn)
        pluma.conversations.set_draft(validate_id(cid, "conversation id"), body["draft"])

    @patch("/{cid:str}/messages/{mid:str}", sync_to_thread=True,
           request_max_body_size=CHAT_BODY_MAX)
    def patch_message(
        self, pluma: PlumaDep, cid: FromPath[str], mid: FromPath[str], data: JSONBody[Any]
    ) -> dict[str, Any]:
        """Edit one message in place."""
        body = _validated(data, MessagePatch)
        changes = {k: v for k, v in body.items() if not (k in {"role", "content"} and v is None)}
        return pluma.conversations.patch_message(
            validate_id(cid, "conversation id"), validate_id(mid, "message id"), changes
        )

    @delete("/{cid:str}/messages/{mid:str}", sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def delete_message(self, pluma: PlumaDep, cid: FromPath[str], mid: FromPath[str]) -> None:
        """Remove one message."""
        if not pluma.conversations.delete_message(
            validate_id(cid, "conversation id"), validate_id(mid, "message id")
        ):
            raise NotFound(f"no message {mid!r} in conversation {cid!r}")
