"""The app starts with default plugins and serves the plugin list."""

from litestar.testing import TestClient


def test_plugins_listed(client: TestClient) -> None:
    plugins = {p["name"]: p for p in client.get("/api/plugins").json()}
    assert plugins["conversations"]["status"] == "loaded"
    assert plugins["core"]["default"] is True
    assert plugins["llm"]["distribution"] == "pluma-llm"
