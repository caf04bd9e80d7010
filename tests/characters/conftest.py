"""Fixtures for the characters tests: an app client with only the core default plugins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient


@pytest.fixture
def open_client(make_app: Callable[..., Litestar]) -> Callable[..., Any]:
    """``with open_client(config_toml=...) as client:`` (lifespan runs, host is localhost)."""

    @contextmanager
    def opener(**kwargs: Any) -> Iterator[TestClient[Litestar]]:
        app = make_app(**kwargs)
        with TestClient(app, base_url="http://localhost") as client:
            yield client

    return opener


@pytest.fixture
def cclient(open_client: Callable[..., Any]) -> Iterator[TestClient[Litestar]]:
    """A client on a fresh data dir."""
    with open_client() as client:
        yield client
