"""Conversation storage: list 1,000 x 50 over HTTP; append one message at 50 vs 5,000 messages.

Baseline beside each figure: rewriting the whole conversation (what a one-file-per-conversation
store must do, and what PUT does), measured in the same run.
Run: ``.venv/bin/python bench/conversations.py`` (writes docs/benchmarks.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import keyring

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import median_ms, write_section

from pluma_core.conversations.store import MIGRATIONS, ConversationStore
from pluma_core.storage.crypto import Cipher
from pluma_core.storage.db import Database
from pluma_core.testing import MemoryKeyring, free_port

CONVERSATIONS, MESSAGES = 1000, 50
TEXT = "A reasonably sized chat message of about the length people type on a phone, say two lines."


def conversation(index: int, size: int) -> dict:
    messages = [
        {"id": f"m{i}", "role": "user" if i % 2 == 0 else "assistant", "content": f"{TEXT} #{i}"}
        for i in range(size)
    ]
    return {"title": f"Conversation {index}", "messages": messages}


def bench_list_over_http(workdir: Path) -> tuple[float, int, float]:
    """Start `pluma serve`, fill it through the API, time GET /api/conversations."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLUMA_")}
    env.update(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", XDG_STATE_HOME=str(workdir / "state"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pluma_core", "serve", "--port", str(port), "--data-dir", str(workdir / "data")],
        env=env, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(300):
                try:
                    client.get("/api/plugins")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            for index in range(CONVERSATIONS):
                client.put(f"/api/conversations/c{index}", json=conversation(index, MESSAGES)).raise_for_status()
            client.get("/api/conversations").raise_for_status()  # warm up
            samples, size = [], 0
            for _ in range(7):
                started = time.perf_counter()
                response = client.get("/api/conversations")
                samples.append(time.perf_counter() - started)
                size = len(response.content)
                assert len(response.json()) == CONVERSATIONS
            one = []
            for _ in range(7):
                started = time.perf_counter()
                client.get("/api/conversations/c500").raise_for_status()
                one.append(time.perf_counter() - started)
        return median_ms(samples), size, median_ms(one)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def bench_append(workdir: Path) -> dict[int, tuple[float, float]]:
    """Median time to append one message vs rewrite the whole conversation, at two sizes."""
    db = Database(workdir / "append.db")
    db.migrate(MIGRATIONS)
    store = ConversationStore(db, Cipher(os.urandom(32)))
    results: dict[int, tuple[float, float]] = {}
    for size in (50, 5000):
        cid = f"size{size}"
        record = conversation(0, size)
        store.put(cid, record)
        appends = []
        for i in range(30):
            started = time.perf_counter()
            store.upsert_message(cid, {"id": f"new{i}", "role": "user", "content": TEXT})
            appends.append(time.perf_counter() - started)
        rewrites = []
        for i in range(5):
            record["messages"].append({"id": f"rw{i}", "role": "user", "content": TEXT})
            started = time.perf_counter()
            store.put(cid, record)
            rewrites.append(time.perf_counter() - started)
        results[size] = (median_ms(appends), median_ms(rewrites))
    db.close()
    return results


def main() -> None:
    keyring.set_keyring(MemoryKeyring())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        list_ms, size, one_ms = bench_list_over_http(workdir)
        appends = bench_append(workdir)
    small, large = appends[50], appends[5000]
    listing = f"`GET /api/conversations`, {CONVERSATIONS:,} conversations x {MESSAGES} messages, over HTTP"
    body = f"""
| measurement | Pluma (row per message) | baseline: rewrite whole conversation |
|---|---|---|
| {listing} | {list_ms:.0f} ms median ({size / 2**20:.1f} MiB JSON) | — |
| `GET /api/conversations/{{id}}`, one of those | {one_ms:.1f} ms median | — |
| append one message, conversation of 50 | {small[0]:.3f} ms | {small[1]:.2f} ms |
| append one message, conversation of 5,000 | {large[0]:.3f} ms | {large[1]:.2f} ms |
| ratio 5,000 / 50 | **{large[0] / small[0]:.2f}x** | {large[1] / small[1]:.1f}x |

Append = `ConversationStore.upsert_message` (what the chat relay calls), median of 30; rewrite =
`ConversationStore.put` (what `PUT /api/conversations/{{id}}` does), median of 5. The list is
served by `pluma serve` in its own process and read with httpx, median of 7 after a warm-up.
"""
    write_section("conversations", "Conversation storage (bench/conversations.py)", body)
    print(body)


if __name__ == "__main__":
    main()
