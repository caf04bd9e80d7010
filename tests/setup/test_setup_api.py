"""The first-run wizard flag."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def test_status_then_complete_persists(make_app: Any) -> None:
    with TestClient(make_app(), base_url="http://localhost") as client:
        assert client.get("/api/setup/status").json() == {"completed": False}
        response = client.post("/api/setup/complete")
        assert response.status_code == 200 and response.json() == {"completed": True}
        assert client.get("/api/setup/status").json() == {"completed": True}
        config = (client.app.state["pluma"].data_dir / "config.toml").read_text()
    assert "setup_complete = true" in config
    with TestClient(make_app(), base_url="http://localhost") as client:  # survives a restart
        assert client.get("/api/setup/status").json() == {"completed": True}
