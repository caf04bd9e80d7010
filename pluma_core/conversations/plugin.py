"""Conversations as a default plugin on the public hooks.

The store itself is a core service (``pluma.conversations``) because the chat plugin writes to
it too; this plugin only puts it on the HTTP API.
"""

from __future__ import annotations

from typing import Any

from pluma_core import hookimpl
from pluma_core.conversations.routes import ConversationController


@hookimpl
def register_routes(pluma: Any) -> list[Any]:
    """The seven conversation routes."""
    return [ConversationController]
