"""Reasoning kept apart from the answer.

Upstreams deliver a model's thoughts three ways: ``delta.reasoning_content`` (DeepSeek,
llama.cpp), ``delta.reasoning`` (vLLM >= 0.11, OpenRouter) or inline ``<think>...</think>`` in
``content``. Clients of Pluma always get ``delta.reasoning_content``; the thoughts are saved
beside the answer and never replayed to the model.
"""

from __future__ import annotations

import re
from typing import Any

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
_THINK_BLOCK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL)
REASONING_KEYS = ("reasoning_content", "reasoning", "reasoning_details", "thinking")


class ThinkSplitter:
    """Splits streamed content into (answer, reasoning), with tags that may span chunks."""

    __slots__ = ("_inside", "_pending")

    def __init__(self) -> None:
        self._inside = False
        self._pending = ""

    def feed(self, text: str) -> tuple[str, str]:
        """Return the answer text and reasoning text that ``text`` completes."""
        if not self._pending and not self._inside and "<" not in text:
            return text, ""
        text = self._pending + text
        self._pending = ""
        answer: list[str] = []
        reasoning: list[str] = []
        while text:
            tag = CLOSE_TAG if self._inside else OPEN_TAG
            index = text.find(tag)
            if index != -1:
                (reasoning if self._inside else answer).append(text[:index])
                text = text[index + len(tag):]
                self._inside = not self._inside
                continue
            keep = _partial_suffix(text, tag)
            (reasoning if self._inside else answer).append(text[: len(text) - keep])
            self._pending = text[len(text) - keep:]
            break
        return "".join(answer), "".join(reasoning)

    def flush(self) -> tuple[str, str]:
        """End of stream: a held-back partial tag is ordinary text after all."""
        pending, self._pending = self._pending, ""
        return ("", pending) if self._inside else (pending, "")


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ChunkNormaliser:
    """Rewrites OpenAI-shaped chunks in place so reasoning is always ``delta.reasoning_content``."""

    __slots__ = ("_splitters",)

    def __init__(self) -> None:
        self._splitters: dict[int, ThinkSplitter] = {}

    def normalise(self, chunk: dict[str, Any]) -> dict[str, Any]:
        """Move ``reasoning`` to ``reasoning_content`` and split ``<think>`` out of ``content``."""
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                continue
            if "reasoning" in delta:
                value = delta.pop("reasoning")
                if value and not delta.get("reasoning_content"):
                    delta["reasoning_content"] = value
            delta.pop("reasoning_details", None)
            content = delta.get("content")
            if isinstance(content, str) and content:
                index = choice.get("index", 0)
                splitter = self._splitters.get(index)
                if splitter is None:
                    if "<" not in content:
                        continue
                    splitter = self._splitters[index] = ThinkSplitter()
                answer, thought = splitter.feed(content)
                delta["content"] = answer
                if thought:
                    delta["reasoning_content"] = (delta.get("reasoning_content") or "") + thought
        return chunk

    def flush(self) -> dict[int, tuple[str, str]]:
        """Held-back text per choice index at end of stream."""
        return {index: splitter.flush() for index, splitter in self._splitters.items()}


def strip_reasoning(message: dict[str, Any]) -> dict[str, Any]:
    """A copy of a history message without thoughts, for replay to the model."""
    clean = {k: v for k, v in message.items() if k not in REASONING_KEYS}
    content = clean.get("content")
    if message.get("role") == "assistant" and isinstance(content, str) and OPEN_TAG in content:
        clean["content"] = _THINK_BLOCK.sub("", content).lstrip()
    return clean
