"""What each request of the page does: JSON text in, a list of JSON-ready replies out.

Requests (``{"type": ..., ...}``) and their replies:

| request      | fields                                   | replies                          |
|--------------|------------------------------------------|----------------------------------|
| settings     | settings: {name: value}                  | settings, data (if rebuilt), frame |
| play / pause | -                                        | frame                            |
| step         | - (one mini-batch update, then pause)    | frame                            |
| reset        | - (new weights, step 0)                  | frame                            |
| new_data     | - (the next seed: new points)            | settings, data, frame            |
| hessian      | k                                        | hessian                          |
| landscape    | steps, span                              | landscape                        |
| surface      | surface                                  | surface                          |
| race         | surface, start, steps, optimizers        | race (with the surface for "network") |
| graph        | expression, values                       | graph                            |

A bad request gets one reply ``{"type": "error", "message": ...}`` (with the settings in force,
so the page can put its controls back); so does an unexpected failure, which is also logged.
The server never answers with an error status, and the session goes on.

Example:
    >>> dispatch(session, '{"type": "settings", "settings": {"lr": -1}}')[0]["message"]
    'learning rate must be > 0, got -1'
"""

from __future__ import annotations

import json
import logging

from chainrule.playground import config
from chainrule.playground.config import ParameterError
from chainrule.playground.descent import SURFACES, race, surface_view
from chainrule.playground.graph import evaluate

MAX_MESSAGE = 65_536
log = logging.getLogger("chainrule.playground")


def hello(session) -> dict:
    """The first message of a connection: the page's choices, defaults and the settings."""
    return {"type": "hello", "options": config.options(), "settings": session.settings}


def _settings(session, message) -> list:
    rebuilt = session.configure(message.get("settings"))
    replies = [{"type": "settings", "settings": session.settings, "rebuilt": rebuilt}]
    if rebuilt:
        replies.append(session.data())
    return [*replies, session.frame()]


def _play(session, message) -> list:
    session.running = True
    return [session.frame()]


def _pause(session, message) -> list:
    session.running = False
    return [session.frame()]


def _step(session, message) -> list:
    session.running = False
    session.train(1)
    return [session.frame()]


def _reset(session, message) -> list:
    session.reset()
    return [session.frame()]


def _new_data(session, message) -> list:
    seed = (session.settings["seed"] + 1) % 2**31
    return _settings(session, {"settings": {"seed": seed}})


def _hessian(session, message) -> list:
    return [session.hessian(config.validate_analysis(message)["k"])]


def _landscape(session, message) -> list:
    options = config.validate_analysis(message)
    return [session.landscape(options["steps"], options["span"])]


def _surface_of(session, name):
    return session.surface() if name == "network" else SURFACES[name]


def _surface(session, message) -> list:
    name = config.validate_surface(message)
    return [{"type": "surface", **surface_view(name, _surface_of(session, name))}]


def _race(session, message) -> list:
    request = config.validate_race(message)
    if not request["optimizers"]:
        raise ParameterError("choose at least one optimiser to race")
    name = request["surface"]
    surface = _surface_of(session, name)
    reply = {"type": "race", "surface": name,
             **race(surface, request["start"], request["optimizers"], request["steps"])}
    if name == "network":  # the weights have moved since the page drew the surface
        reply["view"] = surface_view(name, surface)
    return [reply]


def _graph(session, message) -> list:
    expression, values = config.validate_graph(message)
    return [{"type": "graph", "expression": expression, **evaluate(expression, values)}]


HANDLERS = {"settings": _settings, "play": _play, "pause": _pause, "step": _step,
            "reset": _reset, "new_data": _new_data, "hessian": _hessian,
            "landscape": _landscape, "surface": _surface, "race": _race, "graph": _graph}


def _decode(text) -> dict:
    if not isinstance(text, str) or len(text) > MAX_MESSAGE:
        raise ParameterError(f"a request must be JSON text of at most {MAX_MESSAGE} characters")
    try:
        message = json.loads(text)
    except ValueError:
        raise ParameterError("a request must be JSON text") from None
    if not isinstance(message, dict):
        raise ParameterError("a request must be a JSON object with a 'type'")
    return message


def dispatch(session, text) -> list:
    """Decode one request, check it, carry it out on ``session``; the replies, in order."""
    kind = None
    try:
        message = _decode(text)
        kind = message.get("type")
        handler = HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise ParameterError(f"unknown request {kind!r}; one of: {', '.join(HANDLERS)}")
        return handler(session, message)
    except ParameterError as err:
        return [{"type": "error", "request": kind, "message": str(err),
                 "settings": session.settings}]
    except Exception as err:  # noqa: BLE001 - the page gets a message, the log the traceback
        log.exception("playground request %r failed", kind)
        return [{"type": "error", "request": kind, "settings": session.settings,
                 "message": f"{kind} failed: {type(err).__name__}: {err}"}]
