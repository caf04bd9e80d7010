"""``/api/characters``: the library, imports, edits, avatars, external folders, the built-in card."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from PIL import Image

from pluma_core.cards import read_card
from pluma_core.cards.payload import parse_chunk_payload
from pluma_core.cards.png import card_text_chunks
from pluma_core.testing.cards import card_png, tiny_image, v2_card, v3_card

KEYWORDS = frozenset({"chara", "ccv3"})
REAL_CARDS = [
    "st_seraphina_v2v3_both_chunks.png",
    "st_seraphina_v2_chara_only_2023.png",
    "st_codingsensei_v2.png",
    "st_fluxthecat_v2.png",
]


def chunks_of(png: bytes) -> dict[str, dict[str, Any]]:
    return {c.keyword: parse_chunk_payload(c.text) for c in card_text_chunks(png, KEYWORDS)}


def import_bytes(client: TestClient, data: bytes, name: str = "card.png") -> dict[str, Any]:
    response = client.post("/api/characters/import", files={"file": (name, data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    return response.json()


def without_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("spec", "spec_version")}


@pytest.mark.real_fixtures
@pytest.mark.parametrize("name", REAL_CARDS)
def test_real_card_round_trip_loses_nothing(cclient: TestClient, real_fixtures: Path, name: str) -> None:
    original_png = (real_fixtures / name).read_bytes()
    original = chunks_of(original_png)
    created = import_bytes(cclient, original_png, name)
    full = cclient.get(f"/api/characters/{created['id']}").json()
    assert full["data"].get("character_book") == original["chara"]["data"].get("character_book")
    put = cclient.put(f"/api/characters/{created['id']}", json=full)
    assert put.status_code == 200, put.text
    exported = cclient.get(f"/api/characters/{created['id']}/avatar")
    assert exported.headers["content-type"] == "image/png"
    out = chunks_of(exported.content)
    assert set(out) == {"chara", "ccv3"}
    assert without_spec(out["chara"]) == without_spec(out["ccv3"])
    assert out["chara"]["spec"] == "chara_card_v2" and out["ccv3"]["spec"] == "chara_card_v3"
    for keyword, source in original.items():
        for key, value in source.items():
            if key not in ("data", "spec", "spec_version"):
                assert out[keyword][key] == value, (keyword, key)
        for key, value in source["data"].items():
            assert out[keyword]["data"][key] == value, (keyword, "data", key)
    # The image is untouched: same pixels chunk for chunk, only the card chunks were replaced.
    assert Image.open(io.BytesIO(exported.content)).size == Image.open(io.BytesIO(original_png)).size


@pytest.mark.real_fixtures
def test_real_v2v3_card_exports_identical_chunks(cclient: TestClient, real_fixtures: Path) -> None:
    original_png = (real_fixtures / "st_seraphina_v2v3_both_chunks.png").read_bytes()
    created = import_bytes(cclient, original_png)
    assert "warnings" not in created  # the two chunks agree
    out = chunks_of(cclient.get(f"/api/characters/{created['id']}/avatar").content)
    assert out == chunks_of(original_png)


@pytest.mark.real_fixtures
def test_png_without_card_is_refused(cclient: TestClient, real_fixtures: Path) -> None:
    data = (real_fixtures / "st_user_default_persona_avatar.png").read_bytes()
    response = cclient.post("/api/characters/import", files={"file": ("p.png", data, "image/png")})
    assert response.status_code == 422
    assert "no character card" in response.json()["error"]


def test_list_has_summaries_and_the_card_is_whole(cclient: TestClient) -> None:
    book = {"extensions": {}, "entries": [{"keys": ["forest"], "content": "x" * 500, "extensions": {},
                                           "enabled": True, "insertion_order": 0}]}
    created = import_bytes(cclient, card_png(v2_card("Booky", tags=["a", "b"], character_book=book)))
    listing = cclient.get("/api/characters").json()
    row = next(r for r in listing if r["id"] == created["id"])
    assert row["name"] == "Booky" and row["tags"] == ["a", "b"] and row["has_avatar"] is True
    assert row["readonly"] is False and row["source"] == "local"
    assert "character_book" not in json.dumps(listing) and "data" not in row
    full = cclient.get(f"/api/characters/{created['id']}").json()
    assert full["data"]["character_book"]["entries"][0]["keys"] == ["forest"]


def test_edit_keeps_unknown_fields_and_updates_mirrors(cclient: TestClient) -> None:
    card = v2_card("Before", extensions={"chub": {"id": 7}, "depth_prompt": {"prompt": "p", "depth": 4}},
                   tool_specific=[1, 2])
    card["weird_root"] = {"a": 1}
    created = import_bytes(cclient, card_png(card))
    full = cclient.get(f"/api/characters/{created['id']}").json()
    full["data"]["name"] = "After"
    full["data"]["extensions"]["mine"] = True
    response = cclient.put(f"/api/characters/{created['id']}", json=full)
    assert response.status_code == 200
    out = chunks_of(cclient.get(f"/api/characters/{created['id']}/avatar").content)["chara"]
    assert out["name"] == "After" and out["data"]["name"] == "After"
    assert out["data"]["extensions"] == {"chub": {"id": 7}, "depth_prompt": {"prompt": "p", "depth": 4}, "mine": True}
    assert out["data"]["tool_specific"] == [1, 2] and out["weird_root"] == {"a": 1}
    assert "readonly" not in out and "id" not in out


def test_put_rejects_bodies_without_data(cclient: TestClient) -> None:
    created = import_bytes(cclient, card_png(v2_card()))
    response = cclient.put(f"/api/characters/{created['id']}", json={"name": "flat"})
    assert response.status_code == 400 and "data" in response.json()["error"]


def test_json_import_stays_json_until_avatar_then_png(cclient: TestClient) -> None:
    created = import_bytes(cclient, json.dumps(v3_card("Jay")).encode(), "jay.json")
    folder = cclient.app.state["pluma"].data_dir / "characters"
    assert (folder / f"{created['id']}.json").exists() and created["has_avatar"] is False
    assert cclient.get(f"/api/characters/{created['id']}/avatar").status_code == 404
    response = cclient.put(f"/api/characters/{created['id']}/avatar",
                           files={"file": ("a.jpg", tiny_image(fmt="JPEG"), "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.json()["has_avatar"] is True
    assert not (folder / f"{created['id']}.json").exists()
    png = (folder / f"{created['id']}.png").read_bytes()
    assert read_card(png).card.name == "Jay"
    assert set(chunks_of(png)) == {"chara", "ccv3"}


def test_avatar_upload_honours_exif_orientation_and_sniffs_type(cclient: TestClient) -> None:
    created = import_bytes(cclient, card_png(v2_card("Turn")))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    jpeg = tiny_image(40, 20, fmt="JPEG", exif=exif.tobytes())
    response = cclient.put(f"/api/characters/{created['id']}/avatar", content=jpeg,
                           headers={"content-type": "image/png"})
    assert response.status_code == 200, response.text
    png = cclient.get(f"/api/characters/{created['id']}/avatar").content
    assert Image.open(io.BytesIO(png)).size == (20, 40)
    gif = io.BytesIO()
    Image.new("P", (4, 4)).save(gif, format="GIF")
    response = cclient.put(f"/api/characters/{created['id']}/avatar",
                           files={"file": ("a.png", gif.getvalue(), "image/png")})
    assert response.status_code == 415
    response = cclient.put(f"/api/characters/{created['id']}/avatar",
                           files={"file": ("a.png", b"not an image", "image/png")})
    assert response.status_code == 415


def test_avatar_resize_clamps_widths_and_caches(cclient: TestClient) -> None:
    created = import_bytes(cclient, card_png(v2_card("Big"), image=tiny_image(600, 900)))
    first = cclient.get(f"/api/characters/{created['id']}/avatar", params={"w": 100})
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(first.content)).size == (128, 192)
    cache = cclient.app.state["pluma"].data_dir / "cache" / "avatars" / "characters" / created["id"]
    cached = list(cache.glob("128-*.png"))
    assert len(cached) == 1
    assert cclient.get(f"/api/characters/{created['id']}/avatar", params={"w": 128}).content == first.content
    huge = cclient.get(f"/api/characters/{created['id']}/avatar", params={"w": 100000})
    assert Image.open(io.BytesIO(huge.content)).size == (600, 900)  # never upscaled
    assert cclient.get(f"/api/characters/{created['id']}/avatar", params={"w": 0}).status_code == 400


def test_resizing_a_strip_shaped_avatar_stays_bounded(cclient: TestClient) -> None:
    """QA finding: a 1x100000 card made ``?w=64`` answer 500 (an image taller than WebP allows)."""
    created = import_bytes(cclient, card_png(v2_card("Strip"), image=tiny_image(1, 30000)))
    response = cclient.get(f"/api/characters/{created['id']}/avatar", params={"w": 64})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    width, height = Image.open(io.BytesIO(response.content)).size
    assert width <= 64 and height <= 256


def test_upload_caps(cclient: TestClient) -> None:
    too_big = b"\x89PNG\r\n\x1a\n" + b"\0" * (21 * 1024 * 1024)
    response = cclient.post("/api/characters/import", files={"file": ("x.png", too_big, "image/png")})
    assert response.status_code == 413 and "error" in response.json()
    import struct

    from pluma_core.cards.png import make_chunk

    ihdr = make_chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
    bomb = b"\x89PNG\r\n\x1a\n" + ihdr + make_chunk(b"IEND", b"")
    created = import_bytes(cclient, card_png(v2_card()))
    response = cclient.put(f"/api/characters/{created['id']}/avatar", files={"file": ("b.png", bomb, "image/png")})
    assert response.status_code == 422 and "pixels" in response.json()["error"]


def test_ids_are_validated(cclient: TestClient) -> None:
    assert cclient.get("/api/characters/nope").status_code == 404
    assert cclient.get("/api/characters/bad%20id").status_code == 400
    assert cclient.get("/api/characters/..%5Csecret").status_code == 400
    assert cclient.delete("/api/characters/nope").status_code == 404


def test_dropped_file_appears_and_delete_removes(cclient: TestClient) -> None:
    folder = cclient.app.state["pluma"].data_dir / "characters"
    (folder / "My Card (1).png").write_bytes(card_png(v2_card("Dropped")))
    row = next(r for r in cclient.get("/api/characters").json() if r["name"] == "Dropped")
    assert cclient.get(f"/api/characters/{row['id']}").json()["data"]["name"] == "Dropped"
    full = cclient.get(f"/api/characters/{row['id']}").json()
    full["data"]["first_mes"] = "edited"
    assert cclient.put(f"/api/characters/{row['id']}", json=full).status_code == 200
    assert read_card((folder / "My Card (1).png").read_bytes()).card.data["first_mes"] == "edited"
    assert cclient.delete(f"/api/characters/{row['id']}").status_code == 204
    assert not (folder / "My Card (1).png").exists()
    assert cclient.get(f"/api/characters/{row['id']}").status_code == 404


def test_card_dirs_are_read_only(open_client: Any, tmp_path: Path) -> None:
    external = tmp_path / "st_characters"
    external.mkdir()
    (external / "Ext.png").write_bytes(card_png(v2_card("External")))
    (external / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\ngarbage")
    with open_client(config_toml=f"card_dirs = [{json.dumps(str(external))}]\n") as client:
        row = next(r for r in client.get("/api/characters").json() if r["name"] == "External")
        assert row["readonly"] is True and row["source"] == "ext"
        cid = row["id"]
        full = client.get(f"/api/characters/{cid}").json()
        assert full["readonly"] is True
        assert client.put(f"/api/characters/{cid}", json=full).status_code == 403
        assert client.delete(f"/api/characters/{cid}").status_code == 403
        response = client.put(f"/api/characters/{cid}/avatar", files={"file": ("a.png", tiny_image(), "image/png")})
        assert response.status_code == 403 and "read-only" in response.json()["error"]
        assert client.get(f"/api/characters/{cid}/avatar", params={"w": 64}).status_code == 200
    assert (external / "Ext.png").read_bytes() == card_png(v2_card("External"))


def test_builtin_pluma_installed_once_and_restored(open_client: Any) -> None:
    with open_client() as client:
        pluma_card = client.get("/api/characters/pluma").json()
        assert pluma_card["data"]["name"] == "Pluma" and pluma_card["has_avatar"] is True
        assert set(chunks_of(client.get("/api/characters/pluma/avatar").content)) == {"chara", "ccv3"}
        assert client.delete("/api/characters/pluma").status_code == 204
    with open_client() as client:  # a restart does not bring it back
        assert client.get("/api/characters/pluma").status_code == 404
        response = client.post("/api/characters/restore-pluma")
        assert response.status_code == 201 and response.json()["id"] == "pluma"
        assert client.get("/api/characters/pluma").status_code == 200
        assert "builtin_pluma_installed = true" in (client.app.state["pluma"].data_dir / "config.toml").read_text()


def test_avatar_status_reads_the_job_registry(cclient: TestClient) -> None:
    created = import_bytes(cclient, card_png(v2_card()))
    url = f"/api/characters/{created['id']}/avatar/status"
    assert cclient.get(url).json() == {"status": "none", "job_id": None, "error": None, "progress": None}
    pluma = cclient.app.state["pluma"]

    async def fail_portrait() -> None:
        async def run(handle: Any) -> None:
            raise RuntimeError("no image backend")

        job = pluma.jobs.start("portrait", run, key=created["id"])
        while job.status in ("pending", "running"):
            await asyncio.sleep(0)

    cclient.blocking_portal.call(fail_portrait)
    body = cclient.get(url).json()
    assert body["status"] == "failed" and body["error"] == "no image backend"
    assert cclient.get("/api/characters/missing/avatar/status").status_code == 404


def test_create_from_data(cclient: TestClient) -> None:
    response = cclient.post("/api/characters", json={"data": {"name": "Fresh", "description": "d"}})
    assert response.status_code == 201
    body = response.json()
    assert body["data"]["name"] == "Fresh" and body["has_avatar"] is False
    assert cclient.post("/api/characters", json={"name": "flat"}).status_code == 400


def test_garbage_import_is_422(cclient: TestClient) -> None:
    response = cclient.post("/api/characters/import", content=b"hello", headers={"content-type": "text/plain"})
    assert response.status_code == 422
    response = cclient.post("/api/characters/import", files={"other": ("x", b"1", "text/plain")})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"name": {"x": 1}},
        {"name": ""},
        {"description": ["a"]},
        {"system_prompt": 5},
        {"tags": "notalist"},
        {"alternate_greetings": 5},
        {"character_book": "garbage"},
        {"extensions": []},
        {"name": "x" * 300},
    ],
)
def test_put_refuses_wrong_field_types(cclient: TestClient, data: dict) -> None:
    """QA finding: wrong types were written into the shareable PNG and broke the prompt."""
    created = import_bytes(cclient, card_png(v2_card("Typed")))
    response = cclient.put(f"/api/characters/{created['id']}", json={"data": data})
    assert response.status_code == 400 and "data." in response.json()["error"]
    assert cclient.get(f"/api/characters/{created['id']}").json()["data"]["name"] == "Typed"
    assert cclient.post("/api/characters", json={"data": {"name": "ok", **data}}).status_code == 400
