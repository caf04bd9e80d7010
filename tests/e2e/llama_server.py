"""Run llama.cpp's server (from the ``xllamacpp`` wheel) until killed: ``llama_server.py MODEL PORT``.

Started by the e2e test with the interpreter of ``.cache/e2e/venv``; prints ``listening <url>``.
"""

from __future__ import annotations

import signal
import sys
import threading

import xllamacpp


def main() -> None:
    model, port = sys.argv[1], int(sys.argv[2])
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.model_alias = {"smollm2"}
    params.port = port
    params.n_ctx = 4096
    params.n_parallel = 2
    params.endpoint_props = True
    server = xllamacpp.Server(params)
    print(f"listening {server.listening_address}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    main()
