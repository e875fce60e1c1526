"""``chainrule playground``: serve the playground page (see :mod:`chainrule.playground`).

Example::

    chainrule playground                 # http://127.0.0.1:8000/, this machine only
    chainrule playground --port 0 --open # any free port, and open it in the browser

The address is bound before the server starts, so ``--port 0`` prints the port it got, and
a port in use is a one-line error.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
import threading
import webbrowser

INSTALL = "pip install 'chainrule[playground]'"


def _require() -> None:
    """Raise ImportError, with the pip command, when a package the server needs is missing."""
    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"the playground needs {' and '.join(missing)}: {INSTALL}")
    if not any(importlib.util.find_spec(name) for name in ("websockets", "wsproto")):
        raise ImportError("the playground needs a WebSocket library for uvicorn: "
                          "pip install wsproto (or pip install 'uvicorn[standard]')")


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.listen(128)
    return sock


def playground(args) -> None:
    """Serve the playground at http://HOST:PORT/ until Ctrl+C.

    Args:
        args: parsed options ``port`` (0: any free port), ``host`` and ``open`` (open the page
            in the default browser with :mod:`webbrowser`).

    Raises:
        ImportError: when starlette, uvicorn or a WebSocket library is missing (the message
            gives the pip command).
        ValueError: when the address cannot be bound (a port in use, an unknown host).
    """
    _require()
    import uvicorn

    from chainrule.playground.app import create_app

    sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown}:{port}/"
    print(f"chainrule playground: {url}  (Ctrl+C to stop)", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: the playground is reachable from other machines at this address",
              file=sys.stderr)
    if args.open:
        threading.Timer(0.5, webbrowser.open, (url,)).start()
    local = args.host in ("127.0.0.1", "localhost")
    config = uvicorn.Config(create_app(local_only=local), host=args.host, port=port,
                            log_level="warning", ws="auto")
    uvicorn.Server(config).run(sockets=[sock])
