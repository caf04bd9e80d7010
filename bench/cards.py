"""Character card benchmarks: import rate, listing 1,000 cards, avatar resize cold and cached.

Run: ``.venv/bin/python bench/cards.py``. Everything goes through the HTTP API on an in-process
app (Litestar test client, in-memory keyring, temporary data dir). Results (medians) replace the
section between ``<!-- cards:start -->`` and ``<!-- cards:end -->`` in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import io
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import keyring
from litestar.testing import TestClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pluma_core.app import create_app  # noqa: E402
from pluma_core.config import Settings  # noqa: E402
from pluma_core.testing.cards import card_png, tiny_image, v2_card  # noqa: E402
from pluma_core.testing.keyring_memory import MemoryKeyring  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_section  # noqa: E402

REAL_CARD = REPO.parent / "shared" / "fixtures" / "real" / "st_seraphina_v2v3_both_chunks.png"
IMPORTS = 200
LISTED = 1000
RUNS = 7
PILLOW_SAMPLE = 30


@contextmanager
def client(data_dir: Path) -> Iterator[TestClient]:
    env = {"XDG_STATE_HOME": str(data_dir.parent / "state"), "HOME": str(data_dir.parent),
           "PLUMA_STRICT_PLUGINS": "1"}
    app = create_app(Settings(data_dir=data_dir, env=env), load_entrypoints=False)
    with TestClient(app, base_url="http://localhost") as test_client:
        yield test_client


def median_seconds(run: Callable[[], object], runs: int = RUNS, setup: Callable[[], object] | None = None) -> float:
    samples = []
    for _ in range(runs):
        if setup is not None:
            setup()
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def sample_card() -> tuple[bytes, str]:
    if REAL_CARD.is_file():
        return REAL_CARD.read_bytes(), f"`{REAL_CARD.name}` ({REAL_CARD.stat().st_size // 1024} KiB, V2+V3 chunks)"
    image = tiny_image(512, 768)
    data = card_png(v2_card("Bench", description="lorem ipsum " * 400), image=image)
    return data, f"generated 512x768 card ({len(data) // 1024} KiB)"


def main() -> None:
    keyring.set_keyring(MemoryKeyring())
    card, card_label = sample_card()
    root = Path(tempfile.mkdtemp(prefix="pluma-bench-"))
    try:
        data_dir = root / "data"
        with client(data_dir) as c:
            def import_batch() -> None:
                for _ in range(IMPORTS // RUNS + 1):
                    response = c.post("/api/characters/import", files={"file": ("c.png", card, "image/png")})
                    assert response.status_code == 201

            per_batch = IMPORTS // RUNS + 1
            import_rate = per_batch / median_seconds(import_batch)

        folder = data_dir / "characters"
        for path in folder.glob("*.png"):
            path.unlink()
        for i in range(LISTED):
            (folder / f"card-{i:04d}.png").write_bytes(card)

        cold_samples = []
        for _ in range(3):
            with client(data_dir) as c:  # a fresh app: nothing cached in memory
                started = time.perf_counter()
                rows = c.get("/api/characters").json()
                cold_samples.append(time.perf_counter() - started)
                assert len(rows) >= LISTED
                warm = median_seconds(lambda c=c: c.get("/api/characters"))
        cold = statistics.median(cold_samples)

        with client(data_dir) as c:
            cache = data_dir / "cache" / "avatars"
            url = "/api/characters/card-0000/avatar"
            resize_cold = median_seconds(
                lambda: c.get(url, params={"w": 256}), setup=lambda: shutil.rmtree(cache, ignore_errors=True)
            )
            c.get(url, params={"w": 256})
            resize_cached = median_seconds(lambda: c.get(url, params={"w": 256}), runs=21)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    pillow_list = pillow_listing_seconds(card)

    body = "\n".join([
        f"Card: {card_label}. In-process HTTP (Litestar test client); medians.",
        "",
        "| Measure | Pluma | baseline |",
        "|---|---|---|",
        f"| Import (`POST /api/characters/import`, multipart PNG) | {import_rate:.1f} cards/s | — |",
        f"| List {LISTED:,} cards, cold (fresh app, chunk walk of every file) | {cold * 1000:.0f} ms "
        f"| {pillow_list * 1000:.0f} ms reading the same cards with Pillow (`Image.open(...).text`, "
        f"which decodes every image; projected from {PILLOW_SAMPLE}) |",
        f"| List {LISTED:,} cards, warm (summaries cached by size+mtime) | {warm * 1000:.0f} ms | — |",
        f"| Avatar `?w=256`, cold (decode, resize, PNG encode, cache write) | {resize_cold * 1000:.1f} ms "
        f"| cached on disk: {resize_cached * 1000:.2f} ms |",
    ])
    write_section("cards", "Character cards (bench/cards.py)", body)
    print(body)


def pillow_listing_seconds(card: bytes) -> float:
    """What reading cards the obvious way costs: Pillow only sees text after IDAT on decode."""
    from PIL import Image

    started = time.perf_counter()
    for _ in range(PILLOW_SAMPLE):
        with Image.open(io.BytesIO(card)) as image:
            assert "chara" in image.text or "ccv3" in image.text
    return (time.perf_counter() - started) / PILLOW_SAMPLE * LISTED


if __name__ == "__main__":
    main()
