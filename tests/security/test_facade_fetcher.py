"""The app publishes the SSRF-guarded fetcher on the facade for import plugins."""

from collections.abc import Callable

from litestar import Litestar

from pluma_core.security.ssrf import SsrfGuardedFetcher


def test_facade_carries_the_guarded_fetcher(make_app: Callable[..., Litestar]) -> None:
    app = make_app()
    assert isinstance(app.state["pluma"].url_fetcher, SsrfGuardedFetcher)
    app.state["pluma"].db.close()
