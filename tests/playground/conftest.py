"""Shared by the playground tests: a TestClient, a real server, and headless Chromium.

Unit tests use Starlette's TestClient (they skip without starlette). Browser tests start
``python -m chainrule playground --port 0`` in a subprocess (the command prints the address it
got) and drive the page with Playwright's sync API in Debian's Chromium at /usr/bin/chromium;
they skip cleanly where Playwright, Chromium or a WebSocket library for uvicorn is missing.
No browser is downloaded and the page loads nothing from outside the server.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import warnings

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def _test_client():
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    with warnings.catch_warnings():  # starlette's advice to move to httpx2
        warnings.filterwarnings("ignore", message=".*httpx2.*")
        from starlette.testclient import TestClient
    return TestClient


@pytest.fixture
def client():
    """A TestClient on a fresh playground application."""
    TestClient = _test_client()
    from chainrule.playground.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


def _receive(websocket, kind, limit=500):
    """Read messages until one of type ``kind`` (or ``error``) arrives; return it."""
    for _ in range(limit):
        message = json.loads(websocket.receive_text())
        if message["type"] in (kind, "error"):
            return message
    raise AssertionError(f"no {kind!r} message in {limit} messages")


def _request(websocket, kind, **fields):
    """Send a request of type ``kind`` and return the first reply of the same type."""
    websocket.send_text(json.dumps({"type": kind, **fields}))
    return _receive(websocket, "frame" if kind in ("play", "pause", "step", "reset") else kind)


@pytest.fixture
def receive():
    """``receive(ws, kind)``: read messages until one of type ``kind`` (or ``error``)."""
    return _receive


@pytest.fixture
def ask():
    """``ask(ws, kind, **fields)``: send a request, return its reply of the same type."""
    return _request


@pytest.fixture
def socket(client):
    """An open /ws connection, past the greeting (hello, data, first frame)."""
    with client.websocket_connect("/ws") as websocket:
        assert _receive(websocket, "hello")["type"] == "hello"
        _receive(websocket, "frame")
        yield websocket


def _need_server_packages():
    for name in ("starlette", "uvicorn"):
        pytest.importorskip(name)
    if not any(importlib.util.find_spec(n) for n in ("websockets", "wsproto")):
        pytest.skip("uvicorn has no WebSocket library (pip install wsproto)")


@pytest.fixture(scope="module")
def server_url():
    """``chainrule playground --port 0`` in a subprocess; its address."""
    _need_server_packages()
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    # NOTE: the server's log goes to a file: a pipe nobody reads fills up after 64 KiB and
    # then blocks the server in the middle of a test.
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen([sys.executable, "-m", "chainrule", "playground", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    try:
        line = proc.stdout.readline()
        found = re.search(r"http://\S+/", line)
        if not found:
            proc.kill()
            log.seek(0)
            raise AssertionError(f"the server did not start: {line!r} {log.read()}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain the rest
        yield found.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (no browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as err:  # noqa: BLE001 - a broken browser install: skip, say why
            pytest.skip(f"Chromium does not start: {err}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server_url):
    """The playground page, loaded and connected, with its first frame drawn."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    tab.goto(server_url + "?seed=0")  # repeatable weights and mini-batches
    tab.wait_for_selector("#status.live", timeout=20_000)
    tab.wait_for_function("document.getElementById('step-count') && "
                          "document.getElementById('test-loss').textContent !== '–'",
                          timeout=20_000)
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
