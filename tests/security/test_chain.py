"""The middleware chain: order, no-store, host allowlist, CORS/CSRF and security headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from pluma_core.registry_types import MiddlewareOrder
from pluma_core.security.middleware import CONTENT_SECURITY_POLICY


def test_chain_order_matches_the_spec(make_app: Callable[..., Litestar]) -> None:
    app = make_app()
    names = [name for _, name in app.state["pluma"].state["middleware"]]
    core = [n for n in names if n in {"trusted_proxies", "access_log", "no_store", "auth", "host_allowlist", "cors"}]
    assert core == ["trusted_proxies", "access_log", "no_store", "auth", "host_allowlist", "cors"]
    orders = dict((name, order) for order, name in app.state["pluma"].state["middleware"])
    assert orders["host_allowlist"] == MiddlewareOrder.HOST_ALLOWLIST
    app.state["pluma"].db.close()


@pytest.mark.parametrize("path", ["/api/conversations", "/api/conversations/missing", "/api/characters/x",
                                  "/api/personas/x", "/api/attachments/x"])
def test_no_store_on_user_content_including_errors(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["cache-control"] == "no-store", (path, response.status_code)


def test_no_store_not_on_other_paths(client: TestClient) -> None:
    assert "no-store" not in client.get("/api/plugins").headers.get("cache-control", "")


@pytest.mark.parametrize("host", ["localhost", "localhost:8787", "127.0.0.1", "127.0.0.9:1", "[::1]:8787"])
def test_loopback_hosts_always_allowed(client: TestClient, host: str) -> None:
    assert client.get("/api/plugins", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.nip.io", "localhost.evil.example", "192.168.1.5"])
def test_foreign_hosts_refused_by_default(client: TestClient, host: str) -> None:
    response = client.get("/api/plugins", headers={"Host": host})
    assert response.status_code == 403
    assert response.json() == {"error": "host not allowed"}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_missing_host_refused(client: TestClient) -> None:
    # Auth runs first: with no host there is no RP ID to grant grace, so the gate answers.
    assert client.get("/api/plugins", headers={"Host": ""}).status_code == 401


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("pluma.lan", True), ("PLUMA.LAN:8787", True), ("x.pluma.lan", False),
        ("a.example.org", True), ("example.org", False), ("192.168.1.20", True), ("192.168.2.1", False),
        ("10.1.2.3", True), ("[fd00::5]", True), ("evil.example", False),
    ],
)
def test_allowed_hosts_patterns(make_app: Callable[..., Litestar], host: str, allowed: bool) -> None:
    app = make_app(allowed_hosts=["pluma.lan", "*.example.org", "192.168.1.0/24", "10.1.2.3", "fd00::/64"])
    with TestClient(app, base_url="http://localhost") as test_client:
        status = test_client.get("/api/plugins", headers={"Host": host}).status_code
    assert (status != 403) is allowed, status


def test_star_allows_every_host(make_app: Callable[..., Litestar]) -> None:
    with TestClient(make_app(allowed_hosts=["*"]), base_url="http://localhost") as test_client:
        assert test_client.get("/api/plugins", headers={"Host": "anything.example"}).status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "http://localhost:3000", "null", "http://127.0.0.1"])
def test_foreign_origin_state_change_refused_on_loopback(client: TestClient, origin: str) -> None:
    response = client.delete("/api/conversations/abc", headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json() == {"error": "cross-origin request refused"}
    assert "access-control-allow-origin" not in response.headers


def test_same_origin_and_no_origin_pass(client: TestClient) -> None:
    assert client.delete("/api/conversations/abc", headers={"Origin": "http://localhost"}).status_code == 404
    assert client.delete("/api/conversations/abc").status_code == 404


def test_cross_site_fetch_metadata_without_origin_refused(client: TestClient) -> None:
    response = client.delete("/api/conversations/abc", headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 403


def test_foreign_origin_read_gets_no_cors_grant(client: TestClient) -> None:
    response = client.get("/api/plugins", headers={"Origin": "http://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


def test_configured_origin_gets_credentials_cors_never_star(make_app: Callable[..., Litestar]) -> None:
    app = make_app(cors_origins=["https://app.example.org", "*"])
    with TestClient(app, base_url="http://localhost") as test_client:
        pre = test_client.options(
            "/api/conversations/abc",
            headers={"Origin": "https://app.example.org", "Access-Control-Request-Method": "DELETE"},
        )
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "https://app.example.org"
        assert pre.headers["access-control-allow-credentials"] == "true"
        assert "DELETE" in pre.headers["access-control-allow-methods"]
        real = test_client.delete("/api/conversations/abc", headers={"Origin": "https://app.example.org"})
        assert real.status_code == 404
        assert real.headers["access-control-allow-origin"] == "https://app.example.org"
        other = test_client.delete("/api/conversations/abc", headers={"Origin": "https://other.example"})
        assert other.status_code == 403
        assert other.headers.get("access-control-allow-origin") != "*"


def test_security_headers_on_the_browser_app(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers


def test_hsts_only_over_https(make_app: Callable[..., Litestar]) -> None:
    with TestClient(make_app(), base_url="https://pluma.localhost") as test_client:
        response = test_client.get("/api/plugins")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
