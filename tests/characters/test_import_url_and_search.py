"""``import-url`` and ``search`` against a fake chub.ai on loopback, through the real SSRF guard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from pluma_core.security.ssrf import SsrfGuardedFetcher, static_resolver
from pluma_core.testing.cards import card_png, tiny_image, v2_card
from pluma_core.testing.chub import ChubCharacter, FakeChub


def node(full_path: str, **definition: Any) -> dict[str, Any]:
    return {"id": 42, "name": definition.get("name", "Chubby"), "fullPath": full_path, "tagline": "a tagline",
            "topics": ["fantasy", "cat"], "starCount": 5, "nChats": 77, "definition": definition}


@pytest.fixture
def chub() -> Iterator[FakeChub]:
    with FakeChub() as fake:
        yield fake


@pytest.fixture
def chub_client(open_client: Any, chub: FakeChub) -> Iterator[TestClient]:
    base = f"http://chub.test:{chub.server.port}"  # type: ignore[union-attr]
    with open_client(config_toml=f'chub_api_url = "{base}"\nchub_avatars_url = "{base}"\n') as client:
        client.app.state["pluma"].url_fetcher = SsrfGuardedFetcher(
            resolver=static_resolver({"chub.test": "127.0.0.1"}), allow_networks=["127.0.0.1/32"]
        )
        yield client


def test_chub_page_uses_the_card_png(chub_client: TestClient, chub: FakeChub) -> None:
    chub.add(ChubCharacter("alice/kitty-1a2b", node("alice/kitty-1a2b"), card_png=card_png(v2_card("Kitty PNG"))))
    response = chub_client.post("/api/characters/import-url", json={"url": "https://chub.ai/characters/alice/kitty-1a2b"})
    assert response.status_code == 201, response.text
    assert response.json()["data"]["name"] == "Kitty PNG" and response.json()["has_avatar"] is True
    assert [r.path for r in chub.requests] == ["/avatars/alice/kitty-1a2b/chara_card_v2.png"]


def test_chub_definition_fields_are_mapped(chub_client: TestClient, chub: FakeChub) -> None:
    definition = {
        "name": "Mapped", "personality": "THE DESCRIPTION", "tavern_personality": "THE PERSONALITY",
        "description": "THE CREATOR NOTES", "first_message": "THE GREETING", "example_dialogs": "THE EXAMPLES",
        "scenario": "THE SCENARIO", "system_prompt": "SYS", "post_history_instructions": "PHI",
        "alternate_greetings": ["alt"], "extensions": {"chub": {"expressions": None}, "other": 1},
        "embedded_lorebook": {"extensions": {}, "entries": [{"keys": ["k"], "content": "c"}]},
    }
    chub.add(ChubCharacter("bob/mapped", node("bob/mapped", **definition), avatar=tiny_image(fmt="WEBP")))
    chub.characters["bob/mapped"].node["avatar_url"] = f"{chub.base_url.replace('127.0.0.1', 'chub.test')}" \
        "/avatars/bob/mapped/avatar.webp"
    response = chub_client.post("/api/characters/import-url", json={"url": "https://www.chub.ai/characters/bob/mapped"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["description"] == "THE DESCRIPTION"
    assert data["personality"] == "THE PERSONALITY"
    assert data["creator_notes"] == "THE CREATOR NOTES"
    assert data["first_mes"] == "THE GREETING" and data["mes_example"] == "THE EXAMPLES"
    assert data["system_prompt"] == "SYS" and data["post_history_instructions"] == "PHI"
    assert data["character_book"]["entries"][0]["keys"] == ["k"]
    assert data["extensions"]["other"] == 1 and data["tags"] == ["fantasy", "cat"] and data["creator"] == "bob"
    assert response.json()["has_avatar"] is True


def test_direct_png_link(chub_client: TestClient, chub: FakeChub) -> None:
    chub.add(ChubCharacter("c/direct", node("c/direct"), card_png=card_png(v2_card("Direct"))))
    url = f"http://chub.test:{chub.server.port}/avatars/c/direct/chara_card_v2.png"  # type: ignore[union-attr]
    response = chub_client.post("/api/characters/import-url", json={"url": url})
    assert response.status_code == 201 and response.json()["data"]["name"] == "Direct"


def test_private_addresses_are_refused_by_the_default_guard(open_client: Any, chub: FakeChub) -> None:
    with open_client() as client:  # the app's own fetcher: no allow-list
        response = client.post("/api/characters/import-url", json={"url": f"{chub.base_url}/card.png"})
    assert response.status_code == 400
    assert "private or local" in response.json()["error"]
    assert chub.requests == []


def test_upstream_errors_are_json(chub_client: TestClient, chub: FakeChub) -> None:
    response = chub_client.post("/api/characters/import-url", json={"url": "https://chub.ai/characters/no/body"})
    assert response.status_code == 502 and "error" in response.json()
    response = chub_client.post("/api/characters/import-url", json={"url": "ftp://example.com/x.png"})
    assert response.status_code == 400


def test_search_maps_results_and_forwards_parameters(chub_client: TestClient, chub: FakeChub) -> None:
    for i in range(30):
        chub.add(ChubCharacter(f"u/cat-{i}", node(f"u/cat-{i}", name=f"Cat {i}")))
    response = chub_client.get("/api/characters/search", params={"q": "cat", "sort": "star_count", "page": 1,
                                                                 "tags": "fantasy"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["results"]) == 24 and body["has_more"] is True and body["page"] == 1
    first = body["results"][0]
    assert first["full_path"] == "u/cat-0" and first["stars"] == 5 and first["tags"] == ["fantasy", "cat"]
    assert first["import_url"] == "https://chub.ai/characters/u/cat-0"
    sent = chub.requests[-1].query
    assert sent["search"] == ["cat"] and sent["sort"] == ["star_count"] and sent["topics"] == ["fantasy"]
    second = chub_client.get("/api/characters/search", params={"q": "cat", "page": 2}).json()
    assert len(second["results"]) == 6 and second["has_more"] is False
    assert chub_client.get("/api/characters/search", params={"sort": "evil"}).status_code == 400


@pytest.mark.parametrize("status", [403, 405])
def test_search_blocked_upstream_is_source_unavailable(chub_client: TestClient, chub: FakeChub, status: int) -> None:
    chub.fail["/search"] = status
    response = chub_client.get("/api/characters/search", params={"q": "x"})
    assert response.status_code == 502
    assert response.json()["error"].startswith("source unavailable")
