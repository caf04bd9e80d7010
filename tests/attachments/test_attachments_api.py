"""``/api/attachments/{name}``: names checked against traversal, types sniffed, size capped."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from pluma_core.testing.cards import tiny_image


@pytest.fixture
def aclient(make_app: Any) -> Any:
    with TestClient(make_app(), base_url="http://localhost") as client:
        yield client


def test_put_get_delete(aclient: TestClient[Litestar]) -> None:
    png = tiny_image()
    response = aclient.put("/api/attachments/gen-1.png", content=png)
    assert response.status_code == 201
    assert response.json() == {"name": "gen-1.png", "size": len(png), "content_type": "image/png",
                               "url": "/api/attachments/gen-1.png"}
    got = aclient.get("/api/attachments/gen-1.png")
    assert got.content == png and got.headers["content-type"] == "image/png"
    assert got.headers["cache-control"] == "no-store"
    assert aclient.delete("/api/attachments/gen-1.png").status_code == 204
    assert aclient.get("/api/attachments/gen-1.png").status_code == 404
    assert aclient.delete("/api/attachments/gen-1.png").status_code == 404


def test_type_comes_from_the_bytes(aclient: TestClient[Litestar]) -> None:
    jpeg = tiny_image(fmt="JPEG")
    response = aclient.put("/api/attachments/liar.png", content=jpeg, headers={"content-type": "image/png"})
    assert response.json()["content_type"] == "image/jpeg"
    assert aclient.get("/api/attachments/liar.png").headers["content-type"] == "image/jpeg"
    html = b"<html><script>alert(1)</script></html>"
    response = aclient.put("/api/attachments/x.png", content=html, headers={"content-type": "image/png"})
    assert response.status_code == 415 and "error" in response.json()


@pytest.mark.parametrize("name", [
    "..", ".hidden", "..%2Fconfig.toml", "%2e%2e%2fconfig.toml", "%252e%252e%252fconfig.toml",
    "..%5Cconfig.toml", "a%00b.png", "%EF%BC%8E%EF%BC%8E%EF%BC%8Fconfig.toml", "caf%C3%A9.png", "a..b.png",
    "x" * 129,
])
def test_traversal_names_are_refused(aclient: TestClient[Litestar], name: str) -> None:
    data_dir = aclient.app.state["pluma"].data_dir
    before = (data_dir / "config.toml").read_bytes()
    put = aclient.put(f"/api/attachments/{name}", content=tiny_image())
    assert put.status_code in (400, 404), put.text
    assert put.json()["error"]
    assert aclient.get(f"/api/attachments/{name}").status_code in (400, 404)
    assert (data_dir / "config.toml").read_bytes() == before


def test_size_cap(aclient: TestClient[Litestar]) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024)
    response = aclient.put("/api/attachments/big.png", content=big)
    assert response.status_code == 413 and "error" in response.json()
    assert aclient.put("/api/attachments/empty.png", content=b"").status_code == 400


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares ``width`` x ``height`` (a pixel bomb needs no pixel data)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_pixel_bombs_and_damaged_images_are_refused(aclient: TestClient[Litestar]) -> None:
    """QA finding: a 30000x30000 PNG and a truncated PNG were stored and served."""
    bomb = aclient.put("/api/attachments/bomb.png", content=_png_header(30000, 30000))
    assert bomb.status_code == 422 and "pixels" in bomb.json()["error"]
    good = tiny_image()
    truncated = aclient.put("/api/attachments/cut.png", content=good[: len(good) // 2])
    assert truncated.status_code == 422
    assert aclient.get("/api/attachments/bomb.png").status_code == 404
    assert aclient.get("/api/attachments/cut.png").status_code == 404
    assert aclient.put("/api/attachments/fine.png", content=good).status_code == 201
