"""A playground server in a thread of the test process, on a free port of 127.0.0.1 (its runs can be inspected)."""
from __future__ import annotations

import secrets
import threading
import time

import pytest


class LiveServer:
    """``with LiveServer() as server``: ``server.base`` (http://127.0.0.1:PORT), ``server.token``, ``server.url``
    (with the token, as the CLI prints it) and ``server.runs`` (the open runs)."""

    def __init__(self):
        pytest.importorskip("uvicorn")
        from deltaprop.cli.playground import bind

        self.token = secrets.token_urlsafe(16)
        self.sock = bind(0)
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/?token={self.token}"
        self.server = None
        self.runs = None

    def __enter__(self):
        import uvicorn

        from deltaprop.playground.server import create_app

        app = create_app(self.token, {f"127.0.0.1:{self.port}", f"localhost:{self.port}"})
        self.runs = app.app.state.runs
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                                    timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the playground server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()
        self.runs.close_all()

    def client(self, **options):
        import httpx

        return httpx.Client(base_url=self.base, headers={"X-Deltaprop-Token": self.token}, timeout=30, **options)
