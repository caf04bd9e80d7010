"""Wire shapes of conversations and messages.

The server keeps fields it does not know (the browser app may store UI state), so bodies are
validated against these Structs and the remaining keys are carried along untouched.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Role = Literal["system", "user", "assistant", "tool"]
Content = str | list[dict[str, Any]] | None


class MessageIn(msgspec.Struct, kw_only=True):
    """A message as clients send it."""

    id: str
    role: Role
    content: Content = ""
    created_at: str | None = None


class MessagePatch(msgspec.Struct, kw_only=True):
    """Changes to one message; any field left out stays as it is."""

    role: Role | None = None
    content: Content = None


class ConversationIn(msgspec.Struct, kw_only=True):
    """A conversation as clients save it with PUT (the path id wins over ``id``)."""

    id: str | None = None
    title: str = ""
    created_at: str | None = None
    draft: str = ""
    messages: list[MessageIn] = msgspec.field(default_factory=list)


class DraftIn(msgspec.Struct, kw_only=True):
    """Body of ``PATCH /api/conversations/{id}/draft``."""

    draft: str


class Message(msgspec.Struct, kw_only=True, omit_defaults=False):
    """A stored message as the API returns it (plus any extra keys the client stored)."""

    id: str
    role: Role
    content: Content
    created_at: str


class Conversation(msgspec.Struct, kw_only=True):
    """A stored conversation as the API returns it (plus extra keys, messages in order)."""

    id: str
    title: str
    created_at: str
    updated_at: str
    draft: str
    messages: list[dict[str, Any]]


CONVERSATION_FIELDS = frozenset({"id", "title", "created_at", "updated_at", "draft", "messages"})
MESSAGE_FIELDS = frozenset({"id", "role", "content", "created_at"})
