"""``/api/personas``: Tavern V2 persona cards with an optional avatar."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image

from pluma_core.cards import read_card
from pluma_core.testing.cards import tiny_image


@pytest.fixture
def pclient(make_app: Any) -> Any:
    with TestClient(make_app(), base_url="http://localhost") as client:
        yield client


def test_create_read_update_list_delete(pclient: TestClient[Litestar]) -> None:
    response = pclient.put("/api/personas/alice", json={"name": " Alice ", "description": "Likes tea."})
    assert response.status_code == 200
    assert response.json() == {**response.json(), "id": "alice", "name": "Alice", "has_avatar": False}
    assert pclient.get("/api/personas/alice").json()["description"] == "Likes tea."
    pclient.put("/api/personas/bob", json={"name": "Bob"})
    assert [p["name"] for p in pclient.get("/api/personas").json()] == ["Alice", "Bob"]
    assert pclient.put("/api/personas/alice", json={"name": "Alicia"}).json()["name"] == "Alicia"
    assert pclient.delete("/api/personas/alice").status_code == 204
    assert pclient.get("/api/personas/alice").status_code == 404
    assert pclient.delete("/api/personas/alice").status_code == 404


def test_name_is_required(pclient: TestClient[Litestar]) -> None:
    assert pclient.put("/api/personas/x", json={"name": "   "}).status_code == 400
    response = pclient.put("/api/personas/x", json={"description": "no name"})
    assert response.status_code == 400 and "error" in response.json()
    assert pclient.put("/api/personas/bad%2Fid", json={"name": "n"}).status_code in (400, 404)
    assert pclient.put("/api/personas/bad.id", json={"name": "n"}).status_code == 400


def test_stored_as_portable_tavern_v2_card(pclient: TestClient[Litestar]) -> None:
    pclient.put("/api/personas/me", json={"name": "Me", "description": "Who I am."})
    folder: Path = pclient.app.state["pluma"].data_dir / "personas"
    card = read_card((folder / "me.json").read_bytes()).card
    assert card.data["name"] == "Me" and card.data["description"] == "Who I am."
    assert card.data["extensions"]["pluma"] == {"kind": "persona"}


def test_avatar_png_or_jpeg_promotes_to_card_png(pclient: TestClient[Litestar]) -> None:
    assert pclient.put("/api/personas/ghost/avatar", content=tiny_image()).status_code == 404
    pclient.put("/api/personas/me", json={"name": "Me"})
    response = pclient.put("/api/personas/me/avatar", files={"file": ("me.jpg", tiny_image(30, 40, fmt="JPEG"), "x")})
    assert response.status_code == 200, response.text
    assert response.json()["has_avatar"] is True
    folder: Path = pclient.app.state["pluma"].data_dir / "personas"
    assert not (folder / "me.json").exists()
    png = pclient.get("/api/personas/me/avatar").content
    assert read_card(png).card.data["extensions"]["pluma"]["kind"] == "persona"
    assert Image.open(io.BytesIO(png)).size == (30, 40)
    small = pclient.get("/api/personas/me/avatar", params={"w": 64})
    assert small.headers["content-type"] == "image/png"
    # name survives an avatar change and an edit after it
    assert pclient.put("/api/personas/me", json={"name": "Me2"}).json()["has_avatar"] is True


def test_avatar_type_and_size_caps(pclient: TestClient[Litestar]) -> None:
    pclient.put("/api/personas/me", json={"name": "Me"})
    webp = tiny_image(fmt="WEBP")
    assert pclient.put("/api/personas/me/avatar", content=webp).status_code == 415
    assert pclient.put("/api/personas/me/avatar", content=b"<svg/>").status_code == 415
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024)
    response = pclient.put("/api/personas/me/avatar", content=big)
    assert response.status_code == 413 and "error" in response.json()
    assert pclient.get("/api/personas/me/avatar").status_code == 404


@pytest.mark.real_fixtures
def test_sillytavern_persona_avatar(pclient: TestClient[Litestar], real_fixtures: Path) -> None:
    pclient.put("/api/personas/st", json={"name": "User"})
    data = (real_fixtures / "st_user_default_persona_avatar.png").read_bytes()
    assert pclient.put("/api/personas/st/avatar", content=data).status_code == 200
    assert read_card(pclient.get("/api/personas/st/avatar").content).card.name == "User"
