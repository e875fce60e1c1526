"""``chainrule playground``: a clear error without its packages, a bound address, a real server."""

import argparse
import importlib.util
import socket

import pytest

from chainrule.cli import main
from chainrule.cli import playground as command


def test_missing_packages_give_the_pip_command(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "starlette" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[playground\]'"):
        command.playground(argparse.Namespace(host="127.0.0.1", port=0, open=False))
    assert main(["playground", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "chainrule playground: error:" in err
    assert "pip install 'chainrule[playground]'" in err


def test_a_missing_websocket_library_is_named(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name in ("websockets", "wsproto") else real(name, *a))
    with pytest.raises(ImportError, match="pip install wsproto"):
        command._require()


def test_a_port_in_use_is_a_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ValueError, match=f"cannot listen on 127.0.0.1:{port}"):
            command._listen("127.0.0.1", port)
    free = command._listen("127.0.0.1", 0)
    assert free.getsockname()[1] > 0
    free.close()


def test_the_command_serves_the_page(server_url):
    httpx = pytest.importorskip("httpx")
    assert server_url.startswith("http://127.0.0.1:")
    page = httpx.get(server_url, timeout=10)
    assert page.status_code == 200 and "chainrule playground" in page.text
