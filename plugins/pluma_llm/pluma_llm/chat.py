"""``POST /api/chat``: stateless proxying and stateful chats saved to the encrypted store.

The upstream's chunks are relayed one by one as they arrive (never the whole answer buffered),
with reasoning normalised to ``delta.reasoning_content``. A stateful chat saves the user message
before the upstream is called and the assistant message when the answer ends; an answer cut
short (client gone, upstream failed, too slow) is saved as far as it got, marked ``partial``
with the ``interrupted`` reason; an answer whose conversation was deleted meanwhile is dropped.

While Pluma waits on the upstream before answering (the first chunk; the whole answer when not
streaming) it watches the client: a client that goes away cancels the upstream request. A
non-streamed answer is bounded by ``chat_timeout`` in all, a streamed one until the upstream
starts answering (its response headers): 504 past it, the answer saved as interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any, Literal

import anyio
import msgspec
from litestar import Response
from litestar.background_tasks import BackgroundTask
from litestar.response import Stream

from pluma_core.clock import now_iso
from pluma_core.errors import BadRequest, Conflict, NotFound, PlumaError, UpstreamError, UpstreamTimeout
from pluma_core.facade import Pluma
from pluma_core.ids import new_id, validate_id
from pluma_core.services import PROMPT_BUILDER, PromptBuilder

from .connections import Connections
from .providers.base import ChatProvider, Chunk, ProviderProfile, as_model_info, redact, redact_error
from .reasoning import ChunkNormaliser, strip_reasoning
from .schemas import PLUMA_KEYS, AnswerChoice, AnswerMessage, ChatCompletion, ChatRequest, LlmKeys

log = logging.getLogger("pluma.llm.chat")
Outcome = Literal["complete", "client_disconnected", "upstream_error"]
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
DONE = b"data: [DONE]\n\n"
CLIENT_GONE = 499  # nginx's "client closed request": nobody reads it, but it is not a 200
_encode = msgspec.json.Encoder().encode
Disconnected = Callable[[], Awaitable[None]]
"""Returns once the client has gone away."""


def _event(value: Any) -> bytes:
    return b"data: " + _encode(value) + b"\n\n"


def _as_batch(item: Chunk | list[Chunk]) -> list[Chunk]:
    return item if isinstance(item, list) else [item]


def _error_event(message: str) -> bytes:
    return _event({"error": {"message": message, "type": "upstream_error"}})


class Relay:
    """Drives one upstream answer: primes it, relays it, accumulates it, reports how it ended."""

    def __init__(self, chunks: AsyncIterator[Chunk | list[Chunk]], model: str,
                 on_end: Callable[[Relay, Outcome], None] | None = None,
                 secrets: Iterable[str | None] = ()) -> None:
        self._chunks = chunks
        self._secrets = tuple(s for s in secrets if s)
        self._interruption: tuple[Outcome, str] | None = None
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
        except PlumaError as exc:
            await self._close_upstream()
            redact_error(exc, self._secrets)
            raise
        except Exception as exc:
            await self._close_upstream()
            raise UpstreamError(f"the provider failed: {type(exc).__name__}") from exc

    def _message(self, exc: Exception) -> str:
        """What the client (and the log) may see of a failure: redacted, never a traceback."""
        text = exc.message if isinstance(exc, PlumaError) else f"the provider failed: {type(exc).__name__}"
        return redact(text, self._secrets)

    def interrupt(self, outcome: Outcome, error: str) -> None:
        """Why the answer is about to be cancelled from outside (timeout), for the saved message."""
        self._interruption = (outcome, error)

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
            if (choice.get("index") or 0) != 0:  # some servers send "index": null for the only choice
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
            self.error = self._message(exc)
            log.warning("upstream failed mid-answer: %s", self.error)
            yield _error_event(self.error)
        finally:
            # Runs on completion, on upstream failure, and when the client went away (cancelled
            # or closed at a yield); the save must not be cancelled with it.
            await self.finish(outcome)
        yield DONE

    async def collect(self) -> None:
        """Read the whole answer (non-streamed responses).

        Cancelled (the client went away, or :meth:`interrupt` then a timeout), what arrived is
        still saved before the cancellation goes on.
        """
        outcome: Outcome = "client_disconnected"
        try:
            async for _ in self._all():
                pass
            outcome = "complete"
        except Exception as exc:
            outcome = "upstream_error"
            self.error = self._message(exc)
            if isinstance(exc, PlumaError):
                redact_error(exc, self._secrets)
                raise
            raise UpstreamError(self.error) from exc
        finally:
            await self.finish(outcome)

    async def finish(self, outcome: Outcome) -> None:
        """Close the upstream request and report how the answer ended, once, even when cancelled."""
        if outcome != "complete" and self.error is None and self._interruption is not None:
            outcome, self.error = self._interruption
        with anyio.CancelScope(shield=True):
            await self._close_upstream()
            await self._report(outcome)

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

    async def chat(self, data: Any, disconnected: Disconnected | None = None) -> Response[Any]:
        """Handle one ``POST /api/chat`` body; ``disconnected`` returns when the client goes away."""
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
        if request.user_message_id is not None and request.user_message_id == request.assistant_message_id:
            raise BadRequest("user_message_id and assistant_message_id must differ")

        if self.connections.cached_active() is None:
            await anyio.to_thread.run_sync(self.connections.resolve_active)
        profile, provider, key = self.connections.active_provider()
        secrets = (key,) if key else ()
        try:
            return await self._chat(request, data, profile, provider, secrets, disconnected)
        except PlumaError as exc:
            # Providers redact their own messages; this covers third-party ones too.
            redact_error(exc, secrets)
            raise

    async def _chat(self, request: ChatRequest, data: dict[str, Any], profile: ProviderProfile,
                    provider: ChatProvider, secrets: tuple[str, ...],
                    disconnected: Disconnected | None) -> Response[Any]:
        stateful = request.conversation_id is not None
        stream = request.stream if request.stream is not None else stateful
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
        relay = Relay(chunks, model, on_end, secrets)
        headers = {"X-Pluma-Assistant-Message-Id": assistant_id} if stateful else {}
        if stream:
            # Until the first chunk the response has not started: watch the client ourselves.
            # After that, the streaming response notices a disconnect and closes the relay.
            # An upstream that accepts the connection but never answers is bounded by chat_timeout.
            timeout = self.pluma.config.get(LlmKeys).chat_timeout
            if not await _guard(relay.prime(), relay, disconnected, timeout, "start answering"):
                return _gone()
            return Stream(relay.sse(), media_type="text/event-stream", headers={**SSE_HEADERS, **headers},
                          background=BackgroundTask(relay.close))
        timeout = self.pluma.config.get(LlmKeys).chat_timeout
        if not await _guard(_prime_and_collect(relay), relay, disconnected, timeout):
            return _gone()
        return Response(relay.completion(), headers=headers)

    async def _first_model(self, provider: ChatProvider) -> str:
        try:
            models = await list_models_within(provider, self.pluma.config.get(LlmKeys).models_timeout)
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

    def _refuses(self, key: str, value: str) -> bool:
        """Whether the prompt builder refuses ``character_id``/``persona_id`` ``value`` on its own."""
        try:
            self._build_prompt([], **{"character_id": None, "persona_id": None, key: value})
        except (NotFound, BadRequest):
            return True
        return False

    def _prompt_for(self, cid: str, data: dict[str, Any], record: dict[str, Any], messages: list[Any],
                    fields: dict[str, Any]) -> list[Any]:
        """The messages sent upstream, with the conversation's character and persona.

        An id in the body wins and is saved (``null`` clears the stored one); an unknown id in
        the body is the builder's 404. A stored id whose card or persona was deleted since is
        dropped and cleared from the conversation (into ``fields``): the chat goes on without it.
        """
        ids: dict[str, Any] = {}
        stored: list[str] = []
        for key in ("character_id", "persona_id"):
            if key in data:
                ids[key] = fields[key] = data[key]
            elif isinstance(record.get(key), str):
                ids[key] = record[key]
                stored.append(key)
            elif record.get(key) is not None:
                fields[key] = None  # not an id at all (an old or hand-edited record)
        if not any(ids.values()):
            return messages
        try:
            return self._build_prompt(messages, ids.get("character_id"), ids.get("persona_id"))
        except (NotFound, BadRequest):
            gone = [key for key in stored if self._refuses(key, ids[key])]
            if not gone:
                raise
        for key in gone:
            log.info("conversation %s: its %s no longer exists; continuing without it", cid,
                     key.removesuffix("_id"))
            ids[key] = fields[key] = None
        if not any(ids.values()):
            return messages
        return self._build_prompt(messages, ids.get("character_id"), ids.get("persona_id"))

    def _prepare_stateful(self, request: ChatRequest, data: dict[str, Any], messages: list[Any],
                          profile: ProviderProfile, model: str) -> list[Any]:
        """Check the ids, assemble the prompt, then save the user message (before any upstream call)."""
        cid = request.conversation_id or ""
        store = self.pluma.conversations
        record = store.get(cid) or {}
        last_user = next((m for m in reversed(data["messages"]) if m.get("role") == "user"), None)
        roles = {m.get("id"): m.get("role") for m in record.get("messages") or ()}
        if last_user is not None and request.user_message_id is not None:
            role = roles.get(request.user_message_id, "user")
            if role != "user":
                raise Conflict(f"user_message_id {request.user_message_id!r} names an existing {role} message")
        if request.assistant_message_id is not None:
            role = roles.get(request.assistant_message_id, "assistant")
            if role != "assistant":
                raise Conflict(
                    f"assistant_message_id {request.assistant_message_id!r} names an existing {role} message")
        fields: dict[str, Any] = {"connection_id": profile.id, "model": model}
        messages = self._prompt_for(cid, data, record, messages, fields)
        store.update_fields(cid, **fields)
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
                # Never recreate a conversation deleted while its answer was on the way.
                saved = self.pluma.conversations.upsert_message(cid, message, create=False)
            except Exception as exc:
                log.error("saving the assistant message failed: %s", type(exc).__name__)
                return
            if saved is None:
                log.info("conversation %s was deleted during the answer; the answer is not saved", cid)
        return save


async def _prime_and_collect(relay: Relay) -> None:
    await relay.prime()
    await relay.collect()


def _gone() -> Response[Any]:
    return Response({"error": "the client went away"}, status_code=CLIENT_GONE)


async def list_models_within(provider: ChatProvider, timeout: float) -> list[Any]:
    """``provider.list_models()``, cancelled past ``timeout`` seconds (``UpstreamTimeout``, 504)."""
    try:
        return await asyncio.wait_for(provider.list_models(), timeout)
    except TimeoutError:
        raise UpstreamTimeout(f"the upstream did not list its models within {timeout:g} s") from None


async def _guard(work: Coroutine[Any, Any, None], relay: Relay, disconnected: Disconnected | None,
                 timeout: float | None, waiting_for: str = "finish answering") -> bool:
    """Run ``work`` (waiting on the upstream) while watching the client and the clock.

    True when it ended by itself (its errors propagate). False when the client went away first;
    past ``timeout``, ``UpstreamTimeout``. Either way the upstream request is cancelled, and what
    arrived is saved as interrupted.
    """
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(disconnected()) if disconnected is not None else None
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    waiting: set[asyncio.Future[None]] = {task} if watcher is None else {task, watcher}
    try:
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            done, _ = await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
                return True
            if watcher is not None and watcher in done:
                if watcher.exception() is not None:
                    # Cannot tell whether the client is there: carry on without watching.
                    log.debug("watching the client failed: %s", type(watcher.exception()).__name__)
                    waiting.discard(watcher)
                    continue
                outcome: Outcome = "client_disconnected"
                error: str | None = None
            elif deadline is not None and loop.time() >= deadline:
                outcome = "upstream_error"
                error = f"the upstream did not {waiting_for} within {timeout:g} s"
                relay.interrupt(outcome, error)
            else:
                continue
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled():
                task.result()  # it ended on its own meanwhile
                return True
            await relay.finish(outcome)  # the cancelled work may not have got as far as reporting
            if error is not None:
                raise UpstreamTimeout(error)
            return False
    finally:
        for future in (task, watcher):
            if future is not None and not future.done():
                future.cancel()

