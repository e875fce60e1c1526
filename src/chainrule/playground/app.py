"""The playground's web application: the page, its files, and one WebSocket per page.

Routes:

* ``GET /``: the page (``static/index.html``); ``/static/...``: its script and style;
* ``WS /ws``: the page's connection. The server sends ``hello`` (choices and settings), the
  points and a first frame; then it answers each request (see
  :mod:`chainrule.playground.handlers`) and, while training runs, sends a frame about ten
  times a second.

Each connection owns one :class:`~chainrule.playground.session.Session`, created when the page
connects and dropped when it leaves, so tabs never interfere. All chainrule work runs in a
worker thread (:func:`~chainrule.playground.engine.in_engine`), so the event loop only moves
messages: a frame is ``steps_per_frame`` training steps (at most 80 ms of them) plus the
pictures, sent, then a pause until 100 ms after the previous frame began.

A page from another site cannot open the socket: a WebSocket whose ``Origin`` names another
host than the one it connects to is refused (browsers send ``Origin``; scripts and tests need
not).

Example:
    >>> import uvicorn
    >>> uvicorn.run(create_app(), host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from chainrule.playground.engine import in_engine
from chainrule.playground.handlers import dispatch, hello
from chainrule.playground.protocol import dumps
from chainrule.playground.session import Session

STATIC = Path(__file__).resolve().parent / "static"
FRAME_INTERVAL = 0.1  # seconds between frames: ~10 frames per second
TRAIN_BUDGET = 0.08  # at most this long training per frame, the rest for pictures and sending
MAX_SESSIONS = 16
log = logging.getLogger("chainrule.playground")


async def index(request):
    """The page."""
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == websocket.headers.get("host", "").lower()


async def _read(websocket: WebSocket, requests) -> None:
    """Move the page's requests into the stream ``requests`` until the page leaves."""
    async with requests:
        try:
            while True:
                await requests.send(await websocket.receive_text())
        except (WebSocketDisconnect, RuntimeError, KeyError):
            pass  # disconnected, or a binary message (refused by closing)


async def _serve(websocket: WebSocket, session: Session, requests) -> None:
    """Greet the page, then answer its requests and, while training runs, send frames."""
    async def send(reply):
        await websocket.send_text(dumps(reply))

    for reply in (hello(session), session.data(), await in_engine(session.frame)):
        await send(reply)
    last_frame = 0.0
    while True:
        pending = []
        try:
            if session.running:  # take what has arrived, without waiting
                while True:
                    pending.append(requests.receive_nowait())
            else:
                pending.append(await requests.receive())
        except anyio.WouldBlock:
            pass
        except anyio.EndOfStream:
            return
        for text in pending:
            for reply in await in_engine(dispatch, session, text):
                await send(reply)
        if session.running:
            wait = FRAME_INTERVAL - (time.monotonic() - last_frame)
            await anyio.sleep(max(wait, 0.0))  # also lets other pages' work in
            last_frame = time.monotonic()
            await send(await in_engine(session.advance, TRAIN_BUDGET))


def _seed(websocket: WebSocket):
    """The ``?seed=N`` of the connection (the page passes its own address's): repeatable
    weights and mini-batches; None when absent (fresh randomness), False when malformed."""
    text = websocket.query_params.get("seed")
    if text is None:
        return None
    return int(text) if text.isascii() and text.isdigit() and int(text) < 2 ** 31 else False


_GONE = (WebSocketDisconnect, OSError, RuntimeError, anyio.ClosedResourceError,
         anyio.BrokenResourceError)


async def playground_socket(websocket: WebSocket) -> None:
    """One page's connection: its own session, its requests, its frames."""
    state = websocket.app.state
    if not _same_origin(websocket):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    if state.sessions >= MAX_SESSIONS:
        await websocket.send_text(dumps({"type": "error", "message": (
            f"the playground already serves {MAX_SESSIONS} pages; close one and reload")}))
        await websocket.close(code=1013)
        return
    seed = _seed(websocket)
    if seed is False:
        await websocket.send_text(dumps({"type": "error", "message": (
            "seed in the address must be an integer in [0, 2**31), e.g. ?seed=0")}))
        await websocket.close(code=1008)
        return
    state.sessions += 1
    try:
        session = await in_engine(Session, None, seed)
        sender, receiver = anyio.create_memory_object_stream(64)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_read, websocket, sender)
            try:
                await _serve(websocket, session, receiver)
            except _GONE:
                pass  # the page went away while we were sending (caught here, inside the
                # task group, which would otherwise wrap it in an ExceptionGroup)
            finally:
                tasks.cancel_scope.cancel()
    except _GONE:
        pass  # the page went away while we were sending
    except Exception:  # noqa: BLE001 - a failing page must not take the server down
        log.exception("playground connection failed")
    finally:
        state.sessions -= 1


def create_app(local_only: bool = False) -> Starlette:
    """The Starlette application: ``/``, ``/static`` and the ``/ws`` WebSocket.

    Args:
        local_only: answer only requests addressed to 127.0.0.1 or localhost (the ``Host``
            header), so that a web page whose name a hostile DNS server points at this machine
            (DNS rebinding) cannot drive the playground.
    """
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])] \
        if local_only else []
    app = Starlette(routes=[
        Route("/", index),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        WebSocketRoute("/ws", playground_socket),
    ], middleware=middleware)
    app.state.sessions = 0
    return app
