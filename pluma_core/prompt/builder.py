"""The prompt builder the chat plugin uses for character chats (order: ``docs/prompt.md``).

Cards and personas are read through the ``character_store`` and ``persona_store`` services, so
this module imports neither plugin.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Protocol

from pluma_core.cards.model import Card
from pluma_core.errors import NotConfigured, NotFound
from pluma_core.registry_types import Registry

CHARACTER_STORE = "character_store"
PERSONA_STORE = "persona_store"
DEFAULT_USER_NAME = "You"
DEFAULT_SYSTEM_PROMPT = (
    "You are {{char}}. Write {{char}}'s next reply in this fictional chat with {{user}}. "
    "Stay in character, be creative, and never speak or act for {{user}}."
)

_CHAR = re.compile(r"\{\{char\}\}|<bot>|<char>", re.IGNORECASE)
_USER = re.compile(r"\{\{user\}\}|<user>", re.IGNORECASE)
_ORIGINAL = re.compile(r"\{\{original\}\}", re.IGNORECASE)


class _Characters(Protocol):
    def card(self, card_id: str) -> tuple[Any, Card]: ...


class _Personas(Protocol):
    def card(self, persona_id: str) -> Card | None: ...

    def display_name(self) -> str: ...


def fill_macros(text: str, char: str | None, user: str) -> str:
    """Replace ``{{char}}``/``<BOT>`` and ``{{user}}``/``<USER>`` (any case)."""
    if char is not None:
        text = _CHAR.sub(lambda _: char, text)
    return _USER.sub(lambda _: user, text)


def persona_block(name: str, description: str) -> str:
    """The persona anchor: heading, the user's name, and "About" only with a description."""
    lines = ["# The user", f"The user's name is {name}."]
    if description.strip():
        lines += ["", f"## About {name}", description.strip()]
    return "\n".join(lines)


def _text(card: Card, key: str) -> str:
    value = card.data.get(key)
    return value.strip() if isinstance(value, str) else ""


def character_block(card: Card, char: str) -> str:
    """Description, personality and scenario (empty parts left out)."""
    parts = []
    if description := _text(card, "description"):
        parts.append(description)
    if personality := _text(card, "personality"):
        parts.append(f"{char}'s personality: {personality}")
    if scenario := _text(card, "scenario"):
        parts.append(f"Scenario: {scenario}")
    return "\n\n".join(parts)


def _fill_message(message: dict[str, Any], char: str | None, user: str) -> dict[str, Any]:
    out = copy.deepcopy(message)
    content = out.get("content")
    if isinstance(content, str):
        out["content"] = fill_macros(content, char, user)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                part["text"] = fill_macros(part["text"], char, user)
    return out


def _split_system(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Leading system messages (the user's global prompt) and the rest."""
    index = 0
    texts: list[str] = []
    while index < len(messages) and messages[index].get("role") == "system":
        content = messages[index].get("content")
        if isinstance(content, str) and content.strip():
            texts.append(content.strip())
        index += 1
    return "\n\n".join(texts), messages[index:]


class CardPromptBuilder:
    """Implements :class:`pluma_core.services.PromptBuilder` from the stores in ``services``."""

    def __init__(self, services: Registry[Any]) -> None:
        self._services = services

    def _store(self, name: str) -> Any:
        store = self._services.get(name)
        if store is None:
            raise NotConfigured(f"the {name.replace('_', ' ')} is not available")
        return store

    def _persona(self, persona_id: str | None) -> tuple[str, str | None]:
        """The user's name and, when a persona is attached, its anchor block."""
        personas = self._services.get(PERSONA_STORE)
        if persona_id is None:
            name = personas.display_name() if personas is not None else DEFAULT_USER_NAME
            return name or DEFAULT_USER_NAME, None
        card = self._store(PERSONA_STORE).card(persona_id)
        if card is None:
            raise NotFound(f"no persona {persona_id!r}")
        name = card.name.strip() or DEFAULT_USER_NAME
        return name, persona_block(name, _text(card, "description"))

    def build(
        self,
        messages: list[dict[str, Any]],
        *,
        character_id: str | None = None,
        persona_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """System blocks from the persona and card, the history, then post-history instructions."""
        user, anchor = self._persona(persona_id)
        original, history = _split_system(messages)
        if character_id is None:
            blocks = [b for b in (anchor, original) if b]
            head = [{"role": "system", "content": fill_macros("\n\n".join(blocks), None, user)}] if blocks else []
            return head + [_fill_message(m, None, user) for m in history]
        _, card = self._store(CHARACTER_STORE).card(character_id)
        char = _text(card, "nickname") or card.name.strip() or "Character"
        system_prompt = _text(card, "system_prompt")
        if system_prompt:
            system_prompt = _ORIGINAL.sub(lambda _: original, system_prompt).strip()
        else:
            system_prompt = original or DEFAULT_SYSTEM_PROMPT
        blocks = [anchor, system_prompt, character_block(card, char)]
        if examples := _text(card, "mes_example"):
            blocks.append(f"Example dialogue (style reference, not part of the chat):\n{examples}")
        system = fill_macros("\n\n".join(b for b in blocks if b), char, user)
        out = [{"role": "system", "content": system}]
        out += [_fill_message(m, char, user) for m in history]
        if post := _text(card, "post_history_instructions"):
            post = _ORIGINAL.sub("", post).strip()
            if post:
                out.append({"role": "system", "content": fill_macros(post, char, user)})
        return out
