"""``deltaprop playground``: serve the playground page on 127.0.0.1 and open it in the browser.

It prints the URL with a fresh random token (as Jupyter does): only requests that carry it are answered.
Ctrl-C ends every run and stops the server (exit 130).
"""
from __future__ import annotations

import secrets
import socket
import sys
import threading
import time
import webbrowser

from ..errors import InputError

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: a free port); ``InputError`` when the port is taken."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be from 0 to 65535, got {port}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"--port {port}: cannot listen there ({exc.strerror}); choose another port or --port 0") \
            from None
    sock.listen(64)
    return sock


def app_for(sock: socket.socket, token: str):
    """The playground app answering to this socket's address (127.0.0.1 or localhost at its port)."""
    from ..playground.server import create_app

    port = sock.getsockname()[1]
    return create_app(token, {f"{HOST}:{port}", f"localhost:{port}"})


def serve(sock: socket.socket, app, *, on_ready=None, log_level: str = "warning") -> None:
    """Run ``app`` on ``sock`` until Ctrl-C (or ``server.should_exit``); ``on_ready(server)`` once it listens."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=2, lifespan="on"))
    if on_ready is not None:
        def watch():
            while not server.started and not server.should_exit:
                time.sleep(0.02)
            if server.started:
                on_ready(server)
        threading.Thread(target=watch, daemon=True).start()
    server.run(sockets=[sock])


def run(args) -> int:
    sock = bind(args.port)
    token = secrets.token_urlsafe(24)
    url = f"http://{HOST}:{sock.getsockname()[1]}/?token={token}"

    def ready(server):
        print("deltaprop playground is running (Ctrl-C stops it). Open:", flush=True)
        print(f"    {url}", flush=True)
        if not args.no_browser:
            try:
                webbrowser.open(url)
            except webbrowser.Error:
                print("(no browser could be opened: copy the URL into one)", file=sys.stderr)

    try:
        serve(sock, app_for(sock, token), on_ready=ready)
    finally:
        sock.close()
    print("deltaprop playground stopped", flush=True)
    return 0
