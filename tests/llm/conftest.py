"""Fixtures for the LLM plugin: fake upstreams on loopback and apps pointed at them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from pluma_core.testing import serve_asgi
from pluma_core.testing.anthropic import FakeAnthropic
from pluma_core.testing.openai import FakeOpenAI


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """An OpenAI-compatible upstream on loopback; its URL is ``fake_openai.url``."""
    fake = FakeOpenAI()
    with serve_asgi(fake) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake
        fake.gate.release()


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """An Anthropic Messages upstream on loopback; its URL is ``fake_anthropic.url``."""
    fake = FakeAnthropic()
    with serve_asgi(fake) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake
        fake.gate.release()


@pytest.fixture
def llm_client(make_app: Callable[..., Litestar]) -> Callable[..., TestClient[Litestar]]:
    """Factory: a started TestClient on an app with every entry point (``base_url=`` optional)."""
    opened: list[TestClient[Litestar]] = []

    def factory(base_url: str | None = None, plugins: list[object] | None = None) -> TestClient[Litestar]:
        app = make_app(plugins=plugins, load_entrypoints=True, base_url=base_url)
        client = TestClient(app, base_url="http://localhost")
        client.__enter__()
        opened.append(client)
        return client

    yield factory  # type: ignore[misc]
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``wait_for(predicate, what)``: poll until truthy (a deadline for hangs, not a speed check)."""
    return _wait_for


def _wait_for(predicate: Callable[[], Any], what: str, limit: float = 10.0) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        threading.Event().wait(0.01)
