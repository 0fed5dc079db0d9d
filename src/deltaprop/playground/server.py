"""The playground's web server: the page's own files and a small JSON API over [`Session`][deltaprop.playground.session.Session]s.

Who may talk to it: requests must carry the access token (``?token=`` on the first page load, which sets a
same-site cookie; or the ``X-Deltaprop-Token`` header), name this server as their Host (127.0.0.1 or
localhost at its port: no DNS rebinding) and, when the browser says where they come from, come from the page
itself (``Origin``). Only the files in ``STATIC`` are served. Everything else gets 403 or 404.

Updates go to the page as server-sent events: the latest frame and the epochs since the last event, never a
queue. A run whose page has gone (its event stream closed and not reopened within ``GRACE`` seconds) ends.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import secrets
import sys
import threading
from importlib import resources

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from ..io import to_bytes
from .script import script
from .session import SPEEDS, Session
from .settings import Settings
from .stepmode import explain_point

STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "style.css": "text/css; charset=utf-8"}
COOKIE = "deltaprop_token"
MAX_RUNS = 8            # runs at once (tabs); one more is refused until a tab closes
GRACE = 5.0             # seconds a run outlives its closed event stream (a reload, a network hiccup)
POLL = 0.02             # how often a stream looks for a new frame
SWITCH_INTERVAL = 0.001 # seconds a thread may hold the GIL while others wait (Python's default: 0.005)


class Guard:
    """ASGI middleware: the Host, Origin and token checks before any route runs."""

    def __init__(self, app, token: str, hosts: set):
        self.app, self.token, self.hosts = app, token, hosts

    def _allowed(self, scope) -> tuple[bool, str]:
        request = Request(scope)
        if request.headers.get("host") not in self.hosts:
            return False, "this server answers only to its own address (127.0.0.1 or localhost)"
        origin = request.headers.get("origin")
        if origin is not None and origin.removeprefix("http://") not in self.hosts:
            return False, f"requests from another origin ({origin}) are refused"
        given = (request.headers.get("x-deltaprop-token"), request.query_params.get("token"),
                 request.cookies.get(COOKIE))
        if not any(hmac.compare_digest(candidate.encode(), self.token.encode()) for candidate in given if candidate):
            return False, "a valid token is needed: open the URL that 'deltaprop playground' printed"
        return True, ""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            ok, why = self._allowed(scope)
            if not ok:
                await PlainTextResponse(why + "\n", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Runs:
    """The open runs by id; each tab makes its own."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sessions: dict[str, Session] = {}
        self.streams: dict[str, int] = {}         # open event streams per run

    def create(self, settings: Settings, speed: int) -> tuple[str, Session]:
        with self.lock:
            if len(self.sessions) >= MAX_RUNS:
                raise OverflowError(f"{MAX_RUNS} runs are open already: close a playground tab first")
            run_id = secrets.token_urlsafe(9)
            self.sessions[run_id] = None
        try:
            session = Session(settings, speed)
        except BaseException:
            with self.lock:
                del self.sessions[run_id]          # the place it held is free again
            raise
        with self.lock:
            self.sessions[run_id] = session
            self.streams[run_id] = 0
        return run_id, session

    def get(self, run_id: str) -> Session | None:
        with self.lock:
            return self.sessions.get(run_id)

    def close(self, run_id: str) -> None:
        with self.lock:
            session = self.sessions.pop(run_id, None)
            self.streams.pop(run_id, None)
        if session is not None:
            session.close()

    def watch(self, run_id: str) -> None:
        """An event stream of the run opened."""
        with self.lock:
            if run_id in self.streams:
                self.streams[run_id] += 1

    def unwatch(self, run_id: str) -> None:
        """An event stream of the run closed: the run ends GRACE seconds later unless another one opens."""
        with self.lock:
            if run_id in self.streams:
                self.streams[run_id] -= 1
        try:
            asyncio.get_running_loop().call_later(GRACE, self.close_unwatched, run_id)
        except RuntimeError:      # the loop is shutting down: the server closes every run
            pass

    def close_unwatched(self, run_id: str) -> None:
        """End the run unless an event stream watches it (a reopened one, after a reload)."""
        with self.lock:
            watched = self.streams.get(run_id, 0) > 0
        if not watched:
            self.close(run_id)

    def close_all(self) -> None:
        for run_id in list(self.sessions):
            self.close(run_id)


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request):
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise ValueError(f"the request body is not JSON: {exc}") from None


def create_app(token: str, hosts: set, static_files=None) -> Starlette:
    """The ASGI app. ``hosts``: the Host values it answers to (``{"127.0.0.1:8765", "localhost:8765"}``)."""
    runs = Runs()
    static_root = static_files or resources.files("deltaprop.playground") / "static"

    def page_file(name: str) -> Response:
        return Response((static_root / name).read_bytes(), media_type=STATIC[name],
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    async def index(request):
        response = page_file("index.html")
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    async def static(request):
        name = request.path_params["name"]
        if name not in STATIC:
            return PlainTextResponse("not one of the page's files\n", status_code=404)
        return page_file(name)

    def session_or_404(request):
        session = runs.get(request.path_params["run"])
        if session is None:
            raise LookupError("no such run (its tab was closed, or the server restarted): reload the page")
        return session

    async def create(request):
        body = await _json(request)
        settings = Settings.from_dict(body.get("settings", {}))
        speed = body.get("speed", 0)
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {', '.join(map(str, SPEEDS))}, got {speed!r}")
        run_id, session = await asyncio.to_thread(runs.create, settings, speed)
        asyncio.get_running_loop().call_later(GRACE * 6, runs.close_unwatched, run_id)   # never watched: ends
        return JSONResponse({"id": run_id, **session.info()})

    async def info(request):
        return JSONResponse(session_or_404(request).info())

    async def change(request):
        session = session_or_404(request)
        settings = Settings.from_dict((await _json(request)).get("settings", {}))
        await asyncio.to_thread(session.reset, settings)
        return JSONResponse(session.info())

    async def control(request):
        session = session_or_404(request)
        body = await _json(request)
        action = body.get("action")
        if "speed" in body:
            session.set_speed(body["speed"])
        if action == "play":
            session.play()
        elif action == "pause":
            session.pause()
        elif action == "step":
            session.step()
        elif action == "reset":
            await asyncio.to_thread(session.reset)
        elif action is not None:
            raise ValueError(f"action must be play, pause, step or reset, got {action!r}")
        return JSONResponse({"state": session.state, "speed": session.speed, "generation": session.generation})

    async def explain(request):
        session = session_or_404(request)
        point = (await _json(request)).get("point")
        n_train = len(session.problem.y_train)
        if isinstance(point, bool) or not isinstance(point, int) or not 0 <= point < n_train:
            raise ValueError(f"point must be a training point number from 0 to {n_train - 1}, got {point!r}")

        def job(s):
            p = s.problem
            return dict(explain_point(s.model, s.optimizer, s.loss, p.X_train[point], p.y_train[point]),
                        point=point, epoch=s.epochs, generation=s.generation)

        return JSONResponse(await asyncio.to_thread(session.call, job))

    async def model_file(request):
        session = session_or_404(request)

        def job(s):
            return to_bytes(s.model, info={"playground": s.settings.to_dict(), "epochs": s.epochs,
                                           "inputs": s.settings.features})

        data = await asyncio.to_thread(session.call, job)
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": 'attachment; filename="playground-model.safetensors"'})

    async def script_file(request):
        session = session_or_404(request)
        source = await asyncio.to_thread(session.call, lambda s: script(s.settings, s.epochs))
        return Response(source, media_type="text/x-python; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="playground_run.py"'})

    async def close(request):
        await asyncio.to_thread(runs.close, request.path_params["run"])
        return JSONResponse({"closed": True})

    async def events(request):
        run_id = request.path_params["run"]
        session = session_or_404(request)
        runs.watch(run_id)

        async def stream():
            generation, version, rows = None, -1, 0
            try:
                while not session.closed:
                    if session.generation != generation:
                        generation, version, rows = session.generation, -1, 0
                        yield f"event: run\ndata: {json.dumps(session.info())}\n\n"
                    if session.version != version:
                        version = session.version
                        snapshot = session.snapshot(rows)
                        if snapshot["generation"] != generation:
                            continue
                        rows = snapshot["epoch"]
                        frame = snapshot.pop("frame") or "null"
                        yield f"event: frame\ndata: {json.dumps(snapshot)[:-1]}, \"frame\": {frame}}}\n\n"
                    else:
                        await asyncio.sleep(POLL)
            finally:
                runs.unwatch(run_id)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    def guarded(endpoint):
        async def handler(request):
            try:
                return await endpoint(request)
            except LookupError as exc:
                return _error(str(exc).strip("'\""), 404)
            except OverflowError as exc:
                return _error(str(exc), 429)
            except (ValueError, TypeError) as exc:
                return _error(str(exc), 400)
        return handler

    routes = [
        Route("/", index), Route("/static/{name}", static),
        Route("/api/runs", guarded(create), methods=["POST"]),
        Route("/api/runs/{run}", guarded(info), methods=["GET"]),
        Route("/api/runs/{run}", guarded(close), methods=["DELETE"]),
        Route("/api/runs/{run}/close", guarded(close), methods=["POST"]),     # navigator.sendBeacon on pagehide
        Route("/api/runs/{run}/settings", guarded(change), methods=["POST"]),
        Route("/api/runs/{run}/control", guarded(control), methods=["POST"]),
        Route("/api/runs/{run}/events", guarded(events)),
        Route("/api/runs/{run}/explain", guarded(explain), methods=["POST"]),
        Route("/api/runs/{run}/model", guarded(model_file)),
        Route("/api/runs/{run}/script", guarded(script_file)),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        # the runs' threads hold the GIL between NumPy calls: hand it over every millisecond rather than every 5, so
        # that the event loop (requests, streams) waits less behind them
        previous = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            yield
        finally:
            await asyncio.to_thread(runs.close_all)     # every run's thread ends with the server
            sys.setswitchinterval(previous)

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runs = runs
    return Guard(app, token, hosts)
