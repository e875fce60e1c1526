"""The playground in a real browser: headless Chromium drives the page the server sends.

The server is ``chainrule playground --port 0`` in a subprocess; the page is read through its
DOM, as a person reads it. Skipped where Playwright, /usr/bin/chromium or a WebSocket library
for uvicorn is missing (see conftest.py).

Three tests take the pictures of docs/playground.md (network.png, descent.png, graph.png in
docs/images/playground/); they write them there when the file is missing or when
CHAINRULE_UPDATE_SCREENSHOTS=1, so that a plain test run leaves the work tree clean.
"""

import os
import shutil
import time
from pathlib import Path

PICTURES = Path(__file__).resolve().parents[2] / "docs" / "images" / "playground"


def text(page, selector):
    return page.inner_text(selector).strip()


def number(page, selector):
    return float(text(page, selector))


def keep_screenshot(page, name, folder):
    """Screenshot the page down to the end of the open tab (a real picture under 300 kB);
    keep it for the docs when asked."""
    shot = folder / name
    bottom = page.evaluate("document.querySelector('.panel.active')"
                           ".getBoundingClientRect().bottom + window.scrollY")
    page.screenshot(path=str(shot), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1280, "height": int(bottom) + 20})
    try:  # 256 colours: a third of the size, no visible change for a page like this
        from PIL import Image

        Image.open(shot).convert("RGB").quantize(256, dither=Image.Dither.NONE).save(
            shot, optimize=True)
    except ImportError:
        pass
    assert 20_000 < shot.stat().st_size < 300_000
    target = PICTURES / name
    if not target.exists() or os.environ.get("CHAINRULE_UPDATE_SCREENSHOTS") == "1":
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


def test_the_page_learns_xor_and_looks_inside(page, tmp_path):
    page.click("#dataset-xor")
    page.click("#play")
    started = time.monotonic()
    page.wait_for_function(
        "parseFloat(document.getElementById('test-loss').textContent) < 0.1", timeout=60_000)
    print(f"\nxor: the test loss read from the page fell below 0.1 after "
          f"{time.monotonic() - started:.1f} s, at step {text(page, '#step-count')}")
    assert float(text(page, "#test-accuracy").rstrip("%")) > 90
    reached = number(page, "#step-count")
    page.wait_for_function(  # 300 steps more, for a sharper picture
        f"parseInt(document.getElementById('step-count').textContent) >= {reached + 300}",
        timeout=60_000)
    page.click("#hessian-button")
    page.wait_for_function("document.getElementById('hessian-result').textContent"
                           ".includes('largest')", timeout=30_000)
    page.click("#landscape-button")
    page.wait_for_function("document.getElementById('landscape-result').textContent"
                           ".includes('loss at the weights')", timeout=30_000)
    page.click("#play")
    page.wait_for_function("document.getElementById('play').textContent === '▶'")
    keep_screenshot(page, "network.png", tmp_path)


def test_changing_the_activation_keeps_training_and_a_new_layer_resets(page):
    page.click("#play")
    page.wait_for_function("parseInt(document.getElementById('step-count').textContent) > 50")
    before = number(page, "#step-count")
    page.select_option("#activation", "relu")
    page.wait_for_function(f"parseInt(document.getElementById('step-count').textContent) > "
                           f"{before + 50}")  # the same weights go on learning
    assert page.input_value("#activation") == "relu"
    running = number(page, "#step-count")
    page.click("#add-layer")
    page.wait_for_function("document.getElementById('layer-count').textContent === '3'")
    page.wait_for_function(f"parseInt(document.getElementById('step-count').textContent) < "
                           f"{running}")  # a new network starts again from step 0
    page.click("#play")


def test_a_bad_value_gets_a_message_on_the_page(page):
    page.fill("#lr", "-1")
    page.press("#lr", "Enter")
    page.wait_for_selector("#message:not([hidden])")
    assert text(page, "#message-text") == "learning rate must be > 0, got -1"
    page.wait_for_function("document.getElementById('lr').value === '0.03'")  # put back


def test_the_graph_tab_shows_the_decks_gradients(page, tmp_path):
    page.click("#tab-graph")
    page.wait_for_selector("#grad-w")
    assert [text(page, f"#grad-{n}") for n in "abwt"] == ["?"] * 4
    page.click("#graph-step")
    assert "dL/dv11 = 1" in text(page, "#chain")
    for _ in range(5):
        page.click("#graph-step")
    assert "dL/dv4 = dL/dv6" in text(page, "#chain")
    keep_screenshot(page, "graph.png", tmp_path)
    page.click("#graph-all")
    assert [number(page, f"#grad-{n}") for n in "abwt"] == [8, 8, 16, -4]
    assert text(page, "#graph-output").startswith("L = 8")
    page.fill("#expression", "__import__('os')")
    page.click("#graph-evaluate")
    page.wait_for_selector("#graph-error:not([hidden])")
    assert "not an allowed function" in text(page, "#graph-error")


def test_the_descent_tab_races_the_optimisers(page, tmp_path):
    page.click("#tab-descent")
    page.wait_for_function("document.getElementById('surface-formula').textContent !== ''")
    page.click("#race-button")  # Rosenbrock's valley, the default
    page.wait_for_function("document.getElementById('race-final-adam').textContent !== ''",
                           timeout=30_000)
    page.wait_for_timeout(2_800)  # the paths are drawn in 2.5 s
    keep_screenshot(page, "descent.png", tmp_path)
    page.select_option("#surface", "bowl")
    page.wait_for_function("document.getElementById('race-steps').value === '200'")
    page.click("#race-button")
    page.wait_for_function("document.getElementById('race-final-adam').textContent !== ''",
                           timeout=30_000)
    assert "at (3, 2)" in text(page, "#race-final-sgd")


def test_two_tabs_train_apart(page, browser, server_url):
    other = browser.new_page()
    other.goto(server_url)
    other.wait_for_selector("#status.live")
    other.click("#dataset-circles")
    other.wait_for_selector("#dataset-circles.active")
    page.wait_for_selector("#dataset-xor.active")
    page.click("#play")
    page.wait_for_function("parseInt(document.getElementById('step-count').textContent) > 20")
    assert text(other, "#step-count") == "0"
    other.close()
