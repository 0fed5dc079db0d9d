"""A playground server in a thread of the test process, on a free port of 127.0.0.1 (its runs can be inspected)."""
from __future__ import annotations

import secrets
import threading

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
        from deltaprop.cli.playground import app_for, serve

        app = app_for(self.sock, self.token)             # the command's own app and server, in a thread
        self.runs = app.app.state.runs
        ready = threading.Event()

        def on_ready(server):
            self.server = server
            ready.set()

        self.thread = threading.Thread(target=serve, args=(self.sock, app), kwargs={"on_ready": on_ready},
                                       daemon=True)
        self.thread.start()
        if not ready.wait(20):
            raise RuntimeError("the playground server did not start")
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()
        self.runs.close_all()

    def client(self, **options):
        import httpx

        return httpx.Client(base_url=self.base, headers={"X-Deltaprop-Token": self.token}, timeout=30, **options)
