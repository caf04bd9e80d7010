"""Wire shapes and config of the LLM plugin."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .providers.base import ModelInfo


class LlmKeys(msgspec.Struct, kw_only=True):
    """Top-level config keys owned by this plugin."""

    base_url: str = ""
    chat_timeout: Annotated[float, msgspec.Meta(gt=0)] = 600.0
    """Seconds a non-streamed ``/api/chat`` answer may take in all, and a streamed one until the
    upstream starts answering (504 past it)."""
    models_timeout: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    """Seconds ``GET /api/models`` (and picking a default model for a chat) may take (504 past it)."""


# -- connections ------------------------------------------------------------------------------
class ConnectionIn(msgspec.Struct, kw_only=True):
    """Body of ``PUT /api/connections`` and ``POST /api/connections/test``.

    ``api_key`` is write-only: stored in the keyring as ``connection:<id>``, never returned.
    An omitted key leaves the stored one alone; an empty string too (use ``DELETE .../key``).
    On an update every omitted field keeps its stored value; on a create ``base_url`` is
    required and the others default (``name``: the host, ``compat``: ``openai``, ``model``: "").
    """

    id: str | None = None
    name: str | msgspec.UnsetType = msgspec.UNSET
    compat: str | msgspec.UnsetType = msgspec.UNSET
    base_url: str | msgspec.UnsetType = msgspec.UNSET
    model: str | msgspec.UnsetType = msgspec.UNSET
    api_key: str | None = None


class Connection(msgspec.Struct, kw_only=True):
    """A saved profile as the API returns it: metadata only, the key redacted to ``has_key``."""

    id: str
    name: str
    compat: str
    base_url: str
    model: str
    has_key: bool
    created_at: str
    updated_at: str


class Fallback(msgspec.Struct, kw_only=True):
    """The ``--base-url`` / ``PLUMA_BASE_URL`` connection, used while no profile exists."""

    base_url: str


class ConnectionList(msgspec.Struct, kw_only=True):
    """``GET /api/connections``; ``providers`` are the registered compat ids."""

    profiles: list[Connection]
    active_id: str | None
    fallback: Fallback | None
    providers: list[str]


class Activated(msgspec.Struct, kw_only=True):
    """``POST /api/connections/{id}/activate``."""

    active_id: str


class TestResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``POST /api/connections/test``: always HTTP 200, the verdict inside."""

    ok: bool
    models: list[str] = msgspec.field(default_factory=list)
    latency_ms: float | None = None
    error: str | None = None


class DiscoverIn(msgspec.Struct, kw_only=True):
    """Optional body of ``POST /api/connections/discover``: extra ports to probe."""

    ports: Annotated[list[Annotated[int, msgspec.Meta(ge=1, le=65535)]], msgspec.Meta(max_length=32)] = (
        msgspec.field(default_factory=list)
    )


class Found(msgspec.Struct, kw_only=True):
    """One server discovery found, identified by the shape of its answers."""

    base_url: str
    guess: str
    compat: str
    models: list[str]
    needs_key: bool = False


class DiscoverResult(msgspec.Struct, kw_only=True):
    """``POST /api/connections/discover``."""

    found: list[Found]


# -- models and health ------------------------------------------------------------------------
class ModelList(msgspec.Struct, kw_only=True):
    """``GET /api/models``."""

    models: list[ModelInfo]


class ActiveSummary(msgspec.Struct, kw_only=True):
    """The connection ``/api/chat`` would use now."""

    id: str | None
    name: str
    compat: str
    model: str
    source: Literal["profile", "fallback", "none"]


class Health(msgspec.Struct, kw_only=True):
    """``GET /api/health``: always HTTP 200 so the UI can show a disconnected state."""

    ok: bool
    upstream: str | None
    reachable: bool
    connection: ActiveSummary
    latency_ms: float | None
    error: str | None
    version: str
    checks: dict[str, Any] = msgspec.field(default_factory=dict)


# -- chat -------------------------------------------------------------------------------------
Role = Literal["system", "user", "assistant", "tool", "developer"]


class ChatMessage(msgspec.Struct, kw_only=True):
    """One message of a chat request (other OpenAI keys such as ``name`` pass through)."""

    role: Role
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(msgspec.Struct, kw_only=True):
    """``POST /api/chat``. Unknown top-level keys are passed to the upstream unchanged."""

    model: str = ""
    messages: list[ChatMessage]
    stream: bool | None = None
    conversation_id: str | None = None
    user_message_id: str | None = None
    assistant_message_id: str | None = None
    character_id: str | None = None
    persona_id: str | None = None
    temperature: float | None = None
    top_p: float | None = None


PLUMA_KEYS = frozenset(
    {"conversation_id", "user_message_id", "assistant_message_id", "character_id", "persona_id", "stream"}
)
"""Keys of ``POST /api/chat`` that Pluma consumes and never forwards upstream."""


class AnswerMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The assistant message of a non-streamed answer."""

    role: Literal["assistant"]
    content: str
    reasoning_content: str | None = None


class AnswerChoice(msgspec.Struct, kw_only=True):
    """One choice of a non-streamed answer."""

    index: int
    message: AnswerMessage
    finish_reason: str | None


class ChatCompletion(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A non-streamed answer: one OpenAI ``chat.completion`` object."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[AnswerChoice]
    usage: dict[str, Any] | None = None
