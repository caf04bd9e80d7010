"""HTTP for the first-run wizard."""

from __future__ import annotations

from litestar import Controller, get, post

from pluma_core.facade import PlumaDep

from .schemas import SetupStatus
from .settings import SetupKeys


class SetupController(Controller):
    """Whether the first-run wizard is done, and marking it done."""

    path = "/api/setup"
    tags = ["setup"]

    @get("/status")
    async def status(self, pluma: PlumaDep) -> SetupStatus:
        """``{"completed": bool}``."""
        return SetupStatus(completed=pluma.config.get(SetupKeys).setup_complete)

    @post("/complete", sync_to_thread=True, status_code=200)
    def complete(self, pluma: PlumaDep) -> SetupStatus:
        """Persist ``setup_complete = true`` in ``config.toml``."""
        keys = pluma.config.update(SetupKeys, setup_complete=True)
        return SetupStatus(completed=keys.setup_complete)
