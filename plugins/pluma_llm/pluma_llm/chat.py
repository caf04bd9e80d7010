"""``POST /api/chat``: stateless proxying and stateful chats saved to the encrypted store.

The upstream's chunks are relayed one by one as they arrive (never the whole answer buffered),
with reasoning normalised to ``delta.reasoning_content``. A stateful chat saves the user message
before the upstream is called and the assistant message when the answer ends; an answer cut
short (client gone, upstream failed) is saved as far as it got, marked ``partial`` with the
``interrupted`` reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import anyio
import msgspec
from litestar import Response
from litestar.background_tasks import BackgroundTask
from litestar.response import Stream

from pluma_core.conversations.store import now_iso
from pluma_core.errors import BadRequest, PlumaError, UpstreamError
from pluma_core.facade import Pluma
from pluma_core.ids import new_id, validate_id
from pluma_core.services import PROMPT_BUILDER, PromptBuilder

from .connections import Connections
from .providers.base import ChatProvider, Chunk, ProviderProfile, as_model_info
from .reasoning import ChunkNormaliser, strip_reasoning
from .schemas import PLUMA_KEYS, AnswerChoice, AnswerMessage, ChatCompletion, ChatRequest

log = logging.getLogger("pluma.llm.chat")
Outcome = Literal["complete", "client_disconnected", "upstream_error"]
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
DONE = b"data: [DONE]\n\n"
_encode = msgspec.json.Encoder().encode


def _event(value: Any) -> bytes:
    return b"data: " + _encode(value) + b"\n\n"


def _as_batch(item: Chunk | list[Chunk]) -> list[Chunk]:
    return item if isinstance(item, list) else [item]


def _error_event(message: str) -> bytes:
    return _event({"error": {"message": message, "type": "upstream_error"}})


class Relay:
    """Drives one upstream answer: primes it, relays it, accumulates it, reports how it ended."""

    def __init__(self, chunks: AsyncIterator[Chunk | list[Chunk]], model: str,
                 on_end: Callable[[Relay, Outcome], None] | None = None) -> None:
        self._chunks = chunks
        self._normaliser = ChunkNormaliser()
        self._first: list[Chunk] | None = None
        self._ended = False
        self._on_end = on_end
        self._reported = False
        self._generator: AsyncIterator[bytes] | None = None
        self.model = model
        self.id = f"chatcmpl-{new_id()}"
        self.created = int(time.time())
        self.content: list[str] = []
        self.reasoning: list[str] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.error: str | None = None

    async def prime(self) -> None:
        """Wait for the first item so that a failure before streaming is a plain JSON error.

        A provider may yield an empty list as soon as the upstream accepted the request, so the
        client's response starts while the model is still working on its first token.
        """
        try:
            self._first = _as_batch(await self._chunks.__anext__())
        except StopAsyncIteration:
            self._ended = True
        except PlumaError:
            await self._close_upstream()
            raise
        except Exception as exc:
            await self._close_upstream()
            raise UpstreamError(f"the provider failed: {type(exc).__name__}") from exc

    async def _all(self) -> AsyncIterator[list[Chunk]]:
        """Batches as they arrive: what one upstream read completed goes out in one write."""
        if self._first is not None:
            first, self._first = self._first, None
            yield [self._take(c) for c in first]
        if not self._ended:
            async for item in self._chunks:
                yield [self._take(c) for c in _as_batch(item)]
        for index, (answer, thought) in self._normaliser.flush().items():
            if answer or thought:
                delta = {k: v for k, v in (("content", answer), ("reasoning_content", thought)) if v}
                yield [self._take({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                   "model": self.model,
                                   "choices": [{"index": index, "delta": delta, "finish_reason": None}]},
                                  normalise=False)]

    def _take(self, chunk: Chunk, normalise: bool = True) -> Chunk:
        if normalise:
            self._normaliser.normalise(chunk)
        if chunk.get("model"):
            self.model = chunk["model"]
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                self.content.append(delta["content"])
            if delta.get("reasoning_content"):
                self.reasoning.append(delta["reasoning_content"])
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return chunk

    def sse(self) -> AsyncIterator[bytes]:
        """The client's event stream; keep it for :meth:`close`."""
        self._generator = self._sse()
        return self._generator

    async def _sse(self) -> AsyncIterator[bytes]:
        outcome: Outcome = "client_disconnected"
        try:
            async for batch in self._all():
                if batch:
                    yield b"".join([_event(chunk) for chunk in batch])
            outcome = "complete"
        except Exception as exc:
            outcome = "upstream_error"
            self.error = exc.message if isinstance(exc, PlumaError) else f"the provider failed: {type(exc).__name__}"
            log.warning("upstream failed mid-answer: %s", self.error)
            yield _error_event(self.error)
        finally:
            # Runs on completion, on upstream failure, and when the client went away (cancelled
            # or closed at a yield); the save must not be cancelled with it.
            with anyio.CancelScope(shield=True):
                await self._close_upstream()
                await self._report(outcome)
        yield DONE

    async def collect(self) -> None:
        """Read the whole answer (non-streamed responses)."""
        try:
            async for _ in self._all():
                pass
        except Exception as exc:
            self.error = exc.message if isinstance(exc, PlumaError) else f"the provider failed: {type(exc).__name__}"
            with anyio.CancelScope(shield=True):
                await self._report("upstream_error")
            if isinstance(exc, PlumaError):
                raise
            raise UpstreamError(self.error) from exc
        await self._report("complete")

    async def close(self) -> None:
        """After the response: make sure the stream ran its ending even if never resumed."""
        generator = self._generator
        if generator is not None:
            await generator.aclose()  # type: ignore[attr-defined]

    async def _close_upstream(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception as exc:
                log.debug("closing the upstream stream failed: %s", type(exc).__name__)

    async def _report(self, outcome: Outcome) -> None:
        if self._reported:
            return
        self._reported = True
        if self._on_end is not None:
            await anyio.to_thread.run_sync(self._on_end, self, outcome)

    def completion(self) -> ChatCompletion:
        """The accumulated answer as one ``chat.completion``."""
        message = AnswerMessage(role="assistant", content="".join(self.content),
                                reasoning_content="".join(self.reasoning) or None)
        return ChatCompletion(id=self.id, object="chat.completion", created=self.created, model=self.model,
                              choices=[AnswerChoice(index=0, message=message, finish_reason=self.finish_reason)],
                              usage=self.usage)


class ChatService:
    """Resolves the connection, builds the upstream request, runs the relay, saves the exchange."""

    def __init__(self, pluma: Pluma, connections: Connections) -> None:
        self.pluma = pluma
        self.connections = connections

    async def chat(self, data: Any) -> Response[Any]:
        """Handle one ``POST /api/chat`` body."""
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        try:
            request = msgspec.convert(data, ChatRequest)
        except msgspec.ValidationError as exc:
            raise BadRequest(f"invalid chat request: {exc}") from exc
        for key in PLUMA_KEYS - {"stream"}:
            value = getattr(request, key)
            if value is not None:
                validate_id(value, key.replace("_", " "))
        stateful = request.conversation_id is not None
        stream = request.stream if request.stream is not None else stateful

        if self.connections.cached_active() is None:
            await anyio.to_thread.run_sync(self.connections.resolve_active)
        profile, provider = self.connections.active_provider()
        model = request.model or profile.model or await self._first_model(provider)
        messages = [strip_reasoning(m) if isinstance(m, dict) else m for m in data["messages"]]

        on_end = None
        assistant_id = request.assistant_message_id or new_id()
        if stateful:
            messages = await anyio.to_thread.run_sync(self._prepare_stateful, request, data, messages, profile,
                                                      model)
            on_end = self._saver(request.conversation_id or "", assistant_id, profile)
        elif request.character_id or request.persona_id:
            messages = await anyio.to_thread.run_sync(self._build_prompt, messages, request.character_id,
                                                      request.persona_id)

        upstream = {k: v for k, v in data.items() if k not in PLUMA_KEYS and v is not None}
        upstream["model"] = model
        upstream["messages"] = messages
        try:
            chunks = provider.stream_chat(upstream)
        except PlumaError:
            raise
        except Exception as exc:
            raise UpstreamError(f"the provider failed: {type(exc).__name__}") from exc
        relay = Relay(chunks, model, on_end)
        await relay.prime()
        headers = {"X-Pluma-Assistant-Message-Id": assistant_id} if stateful else {}
        if stream:
            return Stream(relay.sse(), media_type="text/event-stream", headers={**SSE_HEADERS, **headers},
                          background=BackgroundTask(relay.close))
        await relay.collect()
        return Response(relay.completion(), headers=headers)

    async def _first_model(self, provider: ChatProvider) -> str:
        try:
            models = await provider.list_models()
        except PlumaError:
            raise
        except Exception as exc:
            raise UpstreamError(f"the provider failed: {type(exc).__name__}") from exc
        if not models:
            raise UpstreamError("no model was chosen and the upstream lists none")
        return as_model_info(models[0]).id

    def _build_prompt(self, messages: list[Any], character_id: str | None,
                      persona_id: str | None) -> list[Any]:
        builder: PromptBuilder | None = self.pluma.services.get(PROMPT_BUILDER)
        if builder is None:
            return messages
        return builder.build(messages, character_id=character_id, persona_id=persona_id)

    def _prepare_stateful(self, request: ChatRequest, data: dict[str, Any], messages: list[Any],
                          profile: ProviderProfile, model: str) -> list[Any]:
        """Assemble the prompt, then save the user message (before any upstream call)."""
        cid = request.conversation_id or ""
        store = self.pluma.conversations
        record = store.get(cid) or {}
        character_id = request.character_id or record.get("character_id")
        persona_id = request.persona_id or record.get("persona_id")
        fields: dict[str, Any] = {"connection_id": profile.id, "model": model}
        if request.character_id:
            fields["character_id"] = request.character_id
        if request.persona_id:
            fields["persona_id"] = request.persona_id
        if character_id or persona_id:
            messages = self._build_prompt(messages, character_id, persona_id)
        store.update_fields(cid, **fields)
        last_user = next((m for m in reversed(data["messages"]) if m.get("role") == "user"), None)
        if last_user is not None:
            store.upsert_message(cid, {"id": request.user_message_id or new_id(), "role": "user",
                                       "content": last_user.get("content", "")})
        return messages

    def _saver(self, cid: str, assistant_id: str, profile: ProviderProfile) -> Callable[[Relay, Outcome], None]:
        def save(relay: Relay, outcome: Outcome) -> None:
            message: dict[str, Any] = {"id": assistant_id, "role": "assistant", "content": "".join(relay.content),
                                       "model": relay.model, "connection_id": profile.id,
                                       "created_at": now_iso()}
            if relay.reasoning:
                message["reasoning"] = "".join(relay.reasoning)
            if relay.finish_reason:
                message["finish_reason"] = relay.finish_reason
            if outcome != "complete":
                message["partial"] = True
                message["interrupted"] = outcome
                if relay.error:
                    message["error"] = relay.error
            try:
                self.pluma.conversations.upsert_message(cid, message)
            except Exception:
                log.exception("saving the assistant message failed")
        return save
