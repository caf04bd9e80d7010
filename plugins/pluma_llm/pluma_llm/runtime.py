"""One set of LLM services per app (tests build many apps in one process)."""

from __future__ import annotations

import weakref

from pluma_core.facade import Pluma

from .chat import ChatService
from .connections import Connections


class LlmRuntime:
    """The connection manager and chat service of one app."""

    def __init__(self, pluma: Pluma) -> None:
        self.connections = Connections(pluma)
        self.chat = ChatService(pluma, self.connections)


_runtimes: weakref.WeakKeyDictionary[Pluma, LlmRuntime] = weakref.WeakKeyDictionary()


def runtime(pluma: Pluma) -> LlmRuntime:
    """The services of ``pluma``'s app, created on first use."""
    found = _runtimes.get(pluma)
    if found is None:
        found = _runtimes[pluma] = LlmRuntime(pluma)
    return found
