"""Trusted proxies over a real loopback socket, and the redacting access log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, get

from pluma_core import hookimpl
from pluma_core.security.addresses import parse_networks
from pluma_core.security.middleware import forwarded_client
from pluma_core.testing import serve_asgi


@get("/api/test/whereami")
async def whereami(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"client": request.client.host if request.client else None, "scheme": request.scope["scheme"]}


class EchoPlugin:
    """A throw-away plugin exposing what the chain decided about the client."""

    PLUGIN_NAME = "echo"

    @hookimpl
    def register_routes(self, pluma: Any) -> list[Any]:
        return [whereami]


# uvicorn is run as `pluma serve` runs it: proxy_headers=False, our middleware applies the rule.
def ask(base: str, **headers: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/api/test/whereami", headers={"Host": "localhost", **headers})
    assert response.status_code == 200, response.text
    return response.json()


def test_spoofed_forwarded_for_from_untrusted_peer_changes_nothing(make_app: Callable[..., Litestar]) -> None:
    with serve_asgi(make_app(plugins=[EchoPlugin()]), proxy_headers=False) as base:
        seen = ask(base, **{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert seen == {"client": "127.0.0.1", "scheme": "http"}


def test_trusted_peer_rightmost_untrusted_hop_wins(make_app: Callable[..., Litestar]) -> None:
    app = make_app(plugins=[EchoPlugin()], trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
    with serve_asgi(app, proxy_headers=False) as base:
        # The client prepended a fake hop; the proxy appended the real one.
        seen = ask(base, **{"X-Forwarded-For": "127.0.0.1, 198.51.100.7, 10.2.3.4", "X-Forwarded-Proto": "https"})
        assert seen == {"client": "198.51.100.7", "scheme": "https"}
        response = httpx.get(f"{base}/api/plugins", headers={"Host": "localhost", "X-Forwarded-Proto": "https"})
        assert "strict-transport-security" in response.headers


@pytest.mark.parametrize(
    ("hops", "expected"),
    [
        (["1.1.1.1, 2.2.2.2"], "2.2.2.2"),
        (["1.1.1.1", "2.2.2.2, 10.0.0.1"], "2.2.2.2"),
        (["garbage, 3.3.3.3, not-an-ip"], "3.3.3.3"),
        (["10.0.0.2, 10.0.0.1"], "10.0.0.2"),
        ([], "10.9.9.9"),
        ([""], "10.9.9.9"),
    ],
)
def test_forwarded_client_rule(hops: list[str], expected: str) -> None:
    assert forwarded_client("10.9.9.9", hops, tuple(parse_networks(["10.0.0.0/8"]))) == expected


def test_access_log_redacts_ids_and_never_logs_secrets(
    make_app: Callable[..., Litestar], caplog: pytest.LogCaptureFixture
) -> None:
    from litestar.testing import TestClient

    with TestClient(make_app(log_requests=True), base_url="http://localhost") as test_client:
        caplog.set_level(logging.INFO, logger="pluma.access")
        test_client.cookies.set("pluma_sess", "COOKIESECRET")
        test_client.get("/api/conversations/abc123secretid?api_token=TOKENSECRET",
                        headers={"Authorization": "Bearer HEADERSECRET"})
        test_client.put("/api/conversations/abc123secretid", json={"messages": [{"content": "CHATSECRET"}]})
    lines = [r.getMessage() for r in caplog.records if r.name == "pluma.access"]
    assert len(lines) == 2
    assert "GET /api/conversations/{cid} 401" in lines[0]  # the bad bearer token
    text = "\n".join(lines)
    for secret in ("abc123secretid", "TOKENSECRET", "COOKIESECRET", "HEADERSECRET", "CHATSECRET", "api_token"):
        assert secret not in text


def test_access_log_off_by_default(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pluma.access")
    client.get("/api/plugins")
    assert not [r for r in caplog.records if r.name == "pluma.access"]
