"""Running chainrule's work off the event loop, one piece at a time.

A training step takes about a millisecond and a Hessian or a race up to a few seconds; run on
the event loop, either would stall every other page. :func:`in_engine` runs a function in a
worker thread (``anyio.to_thread.run_sync``) and awaits it, so the server keeps answering.

The work is serialised by one lock, :data:`ENGINE_LOCK`: chainrule's grad mode
(``cr.no_grad``) is a process-wide switch, so a page evaluating its grid under ``no_grad``
while another page's step records its graph would lose that graph. With the lock, pages take
turns chunk by chunk (a frame's steps, a race, a Hessian): each page stays responsive and none
sees another's state.

Example:
    >>> frame = await in_engine(session.advance, 0.08)
"""

from __future__ import annotations

import threading

import anyio.to_thread

ENGINE_LOCK = threading.Lock()


def locked(fn, *args):
    """fn(*args) while holding :data:`ENGINE_LOCK` (in whatever thread calls it)."""
    with ENGINE_LOCK:
        return fn(*args)


async def in_engine(fn, *args):
    """Await fn(*args) run in a worker thread under :data:`ENGINE_LOCK`; returns its result."""
    return await anyio.to_thread.run_sync(locked, fn, *args)
