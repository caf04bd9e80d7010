"""Wire shapes of ``/api/setup``."""

from __future__ import annotations

import msgspec


class SetupStatus(msgspec.Struct, kw_only=True):
    """``GET /api/setup/status``."""

    completed: bool
