"""The ``prompt_builder`` service: block order, macros, persona anchor (``docs/prompt.md``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from pluma_core.errors import NotFound
from pluma_core.services import PROMPT_BUILDER

CARD = {
    "data": {
        "name": "Seren", "description": "DESC {{char}} meets {{user}}", "personality": "PERS calm",
        "scenario": "SCEN <USER> in the glade", "mes_example": "<START>\n{{user}}: hi\n{{char}}: EXAMPLE",
        "system_prompt": "SYS for {{char}}; global: {{original}}", "post_history_instructions": "PHI {{user}}",
        "first_mes": "Hello {{user}}", "creator_notes": "NEVER IN PROMPT",
    }
}


@pytest.fixture
def env(make_app: Any) -> Iterator[tuple[TestClient, Any]]:
    with TestClient(make_app(), base_url="http://localhost") as client:
        yield client, client.app.state["pluma"].services.get(PROMPT_BUILDER)


def make_character(client: TestClient, card: dict[str, Any] = CARD) -> str:
    response = client.post("/api/characters", json=card)
    assert response.status_code == 201
    return response.json()["id"]


def test_full_order_with_persona(env: tuple[TestClient, Any]) -> None:
    client, builder = env
    cid = make_character(client)
    client.put("/api/personas/p1", json={"name": "Ada", "description": "ABOUT an engineer"})
    history = [{"role": "system", "content": "GLOBAL"}, {"role": "assistant", "content": "Hello {{user}}"},
               {"role": "user", "content": "hi {{char}}"}]
    out = builder.build(history, character_id=cid, persona_id="p1")
    assert [m["role"] for m in out] == ["system", "assistant", "user", "system"]
    system = out[0]["content"]
    markers = ["# The user", "The user's name is Ada.", "## About Ada", "ABOUT", "SYS for Seren; global: GLOBAL",
               "DESC Seren meets Ada", "Seren's personality: PERS", "Scenario: SCEN Ada", "EXAMPLE"]
    positions = [system.index(m) for m in markers]
    assert positions == sorted(positions)
    assert "NEVER IN PROMPT" not in system and "{{" not in system
    assert out[1]["content"] == "Hello Ada" and out[2]["content"] == "hi Seren"
    assert out[-1] == {"role": "system", "content": "PHI Ada"}


def test_default_user_is_you_and_display_name_wins(env: tuple[TestClient, Any]) -> None:
    client, builder = env
    cid = make_character(client, {"data": {"name": "Bo", "description": "{{user}} and {{char}}"}})
    out = builder.build([{"role": "user", "content": "x"}], character_id=cid)
    assert "You and Bo" in out[0]["content"] and "# The user" not in out[0]["content"]
    assert "User" not in out[0]["content"].replace("# The user", "")
    from pluma_core.personas.settings import PersonaKeys

    client.app.state["pluma"].config.update(PersonaKeys, display_name="Kim")
    assert "Kim and Bo" in builder.build([], character_id=cid)[0]["content"]


def test_empty_system_prompt_uses_global_else_default(env: tuple[TestClient, Any]) -> None:
    client, builder = env
    cid = make_character(client, {"data": {"name": "Cy", "description": "d"}})
    with_global = builder.build([{"role": "system", "content": "MY GLOBAL"}], character_id=cid)
    assert with_global[0]["content"].startswith("MY GLOBAL")
    default = builder.build([], character_id=cid)[0]["content"]
    assert default.startswith("You are Cy.")
    assert builder.build([], character_id=cid)[1:] == []


def test_persona_without_description_has_no_about(env: tuple[TestClient, Any]) -> None:
    client, builder = env
    client.put("/api/personas/p2", json={"name": "Lee"})
    out = builder.build([{"role": "user", "content": "{{user}}"}], persona_id="p2")
    assert out[0]["content"] == "# The user\nThe user's name is Lee."
    assert out[1]["content"] == "Lee"


def test_nickname_replaces_char(env: tuple[TestClient, Any]) -> None:
    client, builder = env
    cid = make_character(client, {"data": {"name": "Long Name", "nickname": "Nick", "description": "{{char}}!"}})
    assert "Nick!" in builder.build([], character_id=cid)[0]["content"]


def test_unknown_ids_raise_not_found(env: tuple[TestClient, Any]) -> None:
    _, builder = env
    with pytest.raises(NotFound):
        builder.build([], character_id="missing")
    with pytest.raises(NotFound):
        builder.build([], persona_id="missing")
