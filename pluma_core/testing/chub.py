"""A loopback fake of the chub.ai endpoints Pluma uses, for tests.

Serves ``/search``, ``/api/characters/<creator>/<slug>?full=true`` and the image CDN paths
``/avatars/<creator>/<slug>/chara_card_v2.png`` and ``.../avatar.webp`` from one port, so
``chub_api_url`` and ``chub_avatars_url`` can both point at it. ``fail`` forces a status for a
path prefix (``{"/search": 403}``) to imitate chub's region blocks and removed endpoints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pluma_core.testing.servers import RawHTTPServer, RawRequest, RawResponder


@dataclass
class ChubCharacter:
    """One character: its API ``node`` (with ``definition``) and optional CDN files."""

    full_path: str
    node: dict[str, Any]
    card_png: bytes | None = None
    avatar: bytes | None = None


@dataclass
class FakeChub:
    """Use as a context manager; ``base_url`` is where it listens."""

    characters: dict[str, ChubCharacter] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    server: RawHTTPServer | None = None

    def add(self, character: ChubCharacter) -> None:
        """Serve one more character."""
        self.characters[character.full_path] = character

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self.server is not None
        return self.server.base_url

    @property
    def requests(self) -> list[RawRequest]:
        """Every request received, in order."""
        return self.server.requests if self.server else []

    def _search(self, request: RawRequest) -> dict[str, Any]:
        query = {k: v[0] for k, v in request.query.items()}
        text = query.get("search", "").lower()
        first = int(query.get("first", "24"))
        page = int(query.get("page", "1"))
        nodes = [c.node for c in self.characters.values() if text in str(c.node.get("name", "")).lower()]
        window = nodes[(page - 1) * first : page * first]
        listed = [{k: v for k, v in n.items() if k != "definition"} for n in window]
        return {"data": {"count": len(nodes), "nodes": listed}}

    async def _handle(self, request: RawRequest, responder: RawResponder) -> None:
        path = request.path
        for prefix, status in self.fail.items():
            if path.startswith(prefix):
                await responder.send(status, json.dumps({"error": "blocked"}))
                return
        parts = [p for p in path.split("/") if p]
        if parts == ["search"]:
            await responder.json(200, self._search(request))
            return
        if len(parts) == 4 and parts[:2] == ["api", "characters"]:
            found = self.characters.get(f"{parts[2]}/{parts[3]}")
            if found is None:
                await responder.json(404, {"error": "not found"})
            else:
                await responder.json(200, {"node": found.node})
            return
        if len(parts) == 4 and parts[0] == "avatars":
            found = self.characters.get(f"{parts[1]}/{parts[2]}")
            body = None
            if found is not None:
                body = found.card_png if parts[3] == "chara_card_v2.png" else found.avatar
            if body is None:
                await responder.send(404, b"not found", "text/plain")
            else:
                await responder.send(200, body, "image/png" if body.startswith(b"\x89PNG") else "image/webp")
            return
        await responder.send(404, b"not found", "text/plain")

    def __enter__(self) -> FakeChub:
        self.server = RawHTTPServer(self._handle).__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.__exit__(*exc)
