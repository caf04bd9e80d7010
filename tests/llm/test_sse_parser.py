"""The SSE parser and the reasoning splitter on every way bytes can be cut."""

from __future__ import annotations

import pytest
from pluma_llm.reasoning import ChunkNormaliser, ThinkSplitter, strip_reasoning
from pluma_llm.sse import SSEParser

STREAM = 'data: {"a": "héllo ✓ 🎉"}\n\n: keep-alive\n\nevent: delta\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n'


def _parse(chunks: list[bytes]) -> list[tuple[str, str]]:
    parser = SSEParser()
    events = [e for c in chunks for e in parser.feed(c)] + parser.close()
    return [(e.event, e.data) for e in events]


EXPECTED = [("message", '{"a": "héllo ✓ 🎉"}'), ("delta", "line1\nline2"), ("message", "[DONE]")]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_split_point_and_line_ending(newline: str) -> None:
    raw = STREAM.replace("\n", newline).encode()
    assert _parse([raw]) == EXPECTED
    for cut in range(1, len(raw)):  # includes cuts inside multi-byte UTF-8 and between CR and LF
        assert _parse([raw[:cut], raw[cut:]]) == EXPECTED, cut


def test_byte_by_byte() -> None:
    raw = STREAM.replace("\n", "\r\n").encode()
    assert _parse([raw[i:i + 1] for i in range(len(raw))]) == EXPECTED


def test_unterminated_last_event_and_bom() -> None:
    assert _parse([b"\xef\xbb\xbfdata: x\n\ndata:y"]) == [("message", "x"), ("message", "y")]


def test_old_llamacpp_error_line() -> None:
    assert _parse([b'error: {"code": 500}\n\n']) == [("error", '{"code": 500}')]


def test_think_splitter_every_split_point() -> None:
    text = "pre<think>deep thought</think>answer <b>bold</b> <thin"
    for cut in range(len(text) + 1):
        splitter = ThinkSplitter()
        parts = [splitter.feed(text[:cut]), splitter.feed(text[cut:]), splitter.flush()]
        answer = "".join(p[0] for p in parts)
        thought = "".join(p[1] for p in parts)
        assert (answer, thought) == ("preanswer <b>bold</b> <thin", "deep thought"), cut


def test_normaliser_maps_reasoning_field() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"reasoning": "hmm", "content": None}}]}
    ChunkNormaliser().normalise(chunk)
    assert chunk["choices"][0]["delta"] == {"reasoning_content": "hmm", "content": None}


def test_strip_reasoning_for_replay() -> None:
    message = {"role": "assistant", "content": "<think>secret</think>Hi", "reasoning_content": "secret", "name": "x"}
    assert strip_reasoning(message) == {"role": "assistant", "content": "Hi", "name": "x"}
    user = {"role": "user", "content": "<think>literal</think>"}
    assert strip_reasoning(user) == user
