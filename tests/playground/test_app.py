"""The web application through Starlette's TestClient: routes, the socket, requests, errors."""

import json
import re
import time

import pytest

pytest.importorskip("starlette")

from starlette.websockets import WebSocketDisconnect  # noqa: E402

OUTSIDE = re.compile(r"""(src|href)\s*=\s*["']?(https?:)?//|from\s+["']https?:|url\(\s*["']?"""
                     r"""https?:|@import|fetch\(\s*["']https?:""")


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/static/app.js" in page.text and "/static/style.css" in page.text
    for name in ("app.js", "network.js", "descent.js", "graph.js", "draw.js", "style.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert not OUTSIDE.search(response.text), name  # nothing from a CDN
    assert not OUTSIDE.search(page.text)
    assert client.get("/static/../app.py").status_code == 404


def test_a_connection_is_greeted_with_choices_points_and_a_frame(client):
    with client.websocket_connect("/ws") as ws:
        hello = json.loads(ws.receive_text())
        assert hello["type"] == "hello" and hello["settings"]["dataset"] == "xor"
        assert "step" in hello["options"]["activations"]
        data = json.loads(ws.receive_text())
        assert data["type"] == "data" and data["classes"] == 2 and len(data["train"]) == 200
        frame = json.loads(ws.receive_text())
        assert frame["type"] == "frame" and frame["step"] == 0 and not frame["running"]


@pytest.mark.parametrize("text, message", [
    ('{"type": "settings", "settings": {"lr": -1}}', "learning rate must be > 0, got -1"),
    ('{"type": "settings", "settings": {"activation": "swish"}}', "unknown activation"),
    ('{"type": "settings", "settings": {"hidden": [0, 4]}}', "neurons per layer must be >= 1"),
    ('{"type": "settings", "settings": {"hidden": [8, 8, 8, 8, 8, 8, 8]}}', "at most 6"),
    ('{"type": "settings", "settings": {"lr": "fast"}}', "must be a number"),
    ('{"type": "settings", "settings": "lr=1"}', "settings must be a JSON object"),
    ('{"type": "teleport"}', "unknown request 'teleport'"),
    ('{"type": 3}', "unknown request 3"),
    ("not json", "must be JSON text"),
    ("[1, 2]", "JSON object"),
    ('{"type": "race", "surface": "bowl", "optimizers": {}}', "choose at least one optimiser"),
    ('{"type": "graph", "expression": "os.system(1)"}', "not an allowed function"),
    ('{"type": "hessian", "k": "many"}', "number of eigenvalues must be a number"),
])
def test_bad_requests_get_a_message_and_the_session_goes_on(socket, receive, ask, text,
                                                            message):
    socket.send_text(text)
    reply = receive(socket, "error")
    assert reply["type"] == "error" and message in reply["message"]
    assert reply["settings"]["lr"] == 0.03  # what the page puts its controls back to
    assert ask(socket, "step")["step"] == 1  # still alive


def test_settings_replies_and_a_rebuild_sends_the_new_points(socket, receive):
    socket.send_text(json.dumps({"type": "settings", "settings": {"dataset": "blobs"}}))
    reply = receive(socket, "settings")
    assert reply["settings"]["dataset"] == "blobs" and reply["rebuilt"]
    assert receive(socket, "data")["classes"] == 3
    assert receive(socket, "frame")["view"]["layers"][-1] == 3
    socket.send_text(json.dumps({"type": "settings", "settings": {"lr": "0.1"}}))
    assert receive(socket, "settings")["rebuilt"] is False
    assert receive(socket, "frame")["type"] == "frame"  # no new points this time


def test_playing_streams_frames_and_xor_is_learned(socket, receive, ask):
    """About ten frames a second, and the test loss falls below 0.1 in well under a minute."""
    frame = ask(socket, "play")
    started = time.monotonic()
    frames = 0
    while frame["test_loss"] is None or frame["test_loss"] >= 0.1:
        frame = receive(socket, "frame")
        frames += 1
        assert time.monotonic() - started < 60, "xor not learned within 60 s"
    elapsed = time.monotonic() - started
    assert frame["running"] and frame["step"] > 0 and frame["test_accuracy"] > 0.95
    assert frames / elapsed < 15  # paced, not flooding the page
    socket.send_text(json.dumps({"type": "pause"}))
    for _ in range(50):  # frames sent before the pause arrived come first
        frame = receive(socket, "frame")
        if not frame["running"]:
            break
    assert not frame["running"]


def test_two_pages_have_their_own_sessions(client, receive, ask):
    with client.websocket_connect("/ws") as one, client.websocket_connect("/ws") as two:
        receive(one, "frame")
        receive(two, "frame")
        one.send_text(json.dumps({"type": "settings", "settings": {"hidden": [2]}}))
        assert receive(one, "frame")["view"]["layers"] == [2, 2, 1]
        assert ask(two, "step")["view"]["layers"] == [2, 4, 4, 1]
        assert ask(one, "step")["step"] == 1 and ask(two, "step")["step"] == 2


def test_graph_race_surface_hessian_and_landscape_requests(socket, ask):
    reply = ask(socket, "graph", expression="((a + b) * w - t) ** 2 + w ** 2",
                    values={"a": 1, "b": 2, "w": 2, "t": 4})
    assert reply["gradients"] == {"a": 8.0, "b": 8.0, "w": 16.0, "t": -4.0}
    surface = ask(socket, "surface", surface="rosenbrock")
    assert surface["start"] == [-1.5, 2.0] and surface["minimum"] == [1.0, 1.0]
    race = ask(socket, "race", surface="saddle", start=[-1.5, 0.001], steps=30,
                   optimizers={"sgd": 0.05, "adam": 0.05})
    assert set(race["paths"]) == {"sgd", "adam"} and len(race["paths"]["sgd"]) == 31
    network = ask(socket, "race", surface="network", steps=10, optimizers={"adam": 0.05})
    assert network["view"]["surface"] == "network" and len(network["paths"]["adam"]) == 11
    hessian = ask(socket, "hessian", k=2)
    assert len(hessian["largest"]) == 2 and hessian["parameters"] == 37
    landscape = ask(socket, "landscape", steps=7, span=0.5)
    assert len(landscape["losses"]) == 7


def test_a_page_from_another_site_cannot_connect(client):
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"origin": "http://evil.example"}) as ws:
            ws.receive_text()
    with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
        assert json.loads(ws.receive_text())["type"] == "hello"


def test_a_seed_in_the_address_makes_a_session_repeatable(client, receive, ask):
    steps = []
    for _ in range(2):
        with client.websocket_connect("/ws?seed=7") as ws:
            receive(ws, "frame")
            steps.append([ask(ws, "step")["train_loss"] for _ in range(3)])
    assert steps[0] == steps[1]
    with client.websocket_connect("/ws?seed=oops") as ws:
        message = json.loads(ws.receive_text())
        assert message["type"] == "error" and "seed in the address" in message["message"]


def test_served_on_this_machine_only_requests_for_it_are_answered():
    from chainrule.playground.app import create_app

    TestClient = pytest.importorskip("starlette.testclient").TestClient
    with TestClient(create_app(local_only=True), base_url="http://127.0.0.1:8000") as local:
        assert local.get("/").status_code == 200
    with TestClient(create_app(local_only=True), base_url="http://evil.example:8000") as other:
        assert other.get("/").status_code == 400  # a rebound name: refused
