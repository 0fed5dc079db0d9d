"""The playground in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

They skip, saying why, where Playwright or Chromium is missing (``apt-get install chromium``; see the README).
With ``DELTAPROP_SCREENSHOTS=docs/img/playground`` the screenshots they take are written there: the docs show them.
"""
import base64
import io
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import deltaprop as dp

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: pip install playwright")

from playground_server import LiveServer

from deltaprop.playground import data
from deltaprop.training.step import train_step


def chromium_path():
    """Debian's chromium (or another Chromium/Chrome on PATH, or $DELTAPROP_CHROMIUM)."""
    for candidate in (os.environ.get("DELTAPROP_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found: apt-get install chromium (see README)")
SPIRAL = {"dataset": "spiral", "hidden": [8, 8, 8], "activation": "relu"}


@pytest.fixture(scope="module")
def server():
    with LiveServer() as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = os.environ.get("DELTAPROP_SCREENSHOTS") or str(tmp_path_factory.mktemp("screenshots"))
    os.makedirs(folder, exist_ok=True)
    return folder


@pytest.fixture
def open_page(server, browser):
    """Pages opened at the URL the command prints; after the test, none may have logged a console error."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    errors = []

    def open_one():
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url)
        page.wait_for_function("window.playground.frame !== null", timeout=30_000)
        return page

    yield open_one
    context.close()
    assert errors == []


def choose(page, settings: dict):
    """Set the form as a learner would, and wait for the run with those settings."""
    if "dataset" in settings:
        page.select_option("#dataset", settings["dataset"])
    if "hidden" in settings:
        page.fill("#hidden", ", ".join(map(str, settings["hidden"])))
        page.dispatch_event("#hidden", "change")
    for name in ("activation", "optimizer", "init"):
        if name in settings:
            page.select_option(f"#{name}", settings[name])
    for name in ("lr", "batch_size", "seed"):
        if name in settings:
            page.fill(f"#{name}", str(settings[name]))
            page.dispatch_event(f"#{name}", "change")
    for name in settings.get("features", []):
        page.check(f"#features input[value='{name}']")
    page.wait_for_function("wanted => Object.entries(wanted).every(([k, v]) => "
                           "JSON.stringify(window.playground.info.settings[k]) === JSON.stringify(v))",
                           arg={key: value for key, value in settings.items() if key != "features"}, timeout=30_000)
    page.wait_for_function("window.playground.frame !== null", timeout=30_000)


def shown_number(page, selector: str) -> float:
    text = page.inner_text(selector)
    return float(text) if text not in ("–", "") else float("nan")


def play_until_test_metric(page, at_least: float, timeout_ms: int = 120_000) -> None:
    page.click("#play")
    page.wait_for_function(f"Number(document.getElementById('test-metric').textContent) > {at_least}",
                           timeout=timeout_ms)
    page.click("#play")                                   # pause
    page.wait_for_function("window.playground.state === 'paused'")


def picture(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def click_training_point(page, index: int) -> None:
    info = page.evaluate("window.playground.info")
    x1, x2 = info["train"]["points"][index]
    box = page.locator("#output").bounding_box()
    extent = info["extent"]
    page.mouse.click(box["x"] + (x1 + extent) / (2 * extent) * box["width"],
                     box["y"] + (extent - x2) / (2 * extent) * box["height"])
    page.wait_for_function(f"window.playground.selected === {index}")


def download(page, selector: str, folder) -> str:
    with page.expect_download() as started:
        page.click(selector)
    path = os.path.join(folder, started.value.suggested_filename)
    started.value.save_as(path)
    return path


# ---------------------------------------------------------------------------------------------- the tests
def test_the_page_opens_without_console_errors(open_page, shots):
    page = open_page()
    assert page.title() == "deltaprop playground"
    assert page.inner_text("#epoch") == "0" and page.inner_text("#state") == "paused"
    assert page.evaluate("window.playground.info.sizes") == [2, 8, 8, 2]
    assert "at most 16 hidden layers of at most 32 units" in page.inner_text("#limits")
    page.screenshot(path=os.path.join(shots, "playground-start.png"))
    # a long run: the page keeps the newest 1,500 epochs one by one and thins the older ones, so it stays bounded
    kept = page.evaluate("(() => { let rows = []; for (let e = 0; e < 100000; e++) { rows.push({epoch: e}); "
                         "rows = window.playground.thin(rows); } return rows.map((row) => row.epoch); })()")
    assert len(kept) <= 3000 and kept[0] == 0 and kept[-1500:] == list(range(100000 - 1500, 100000))
    assert kept == sorted(kept)


def test_the_spiral_is_learned_and_the_boundary_moves(open_page, shots):
    page = open_page()
    choose(page, SPIRAL)
    before = page.locator("#output").screenshot()
    page.click("#play")
    page.wait_for_function("window.playground.epoch >= 5", timeout=60_000)
    early = page.locator("#output").screenshot()
    page.click("#play")
    page.wait_for_function("window.playground.state === 'paused'")
    assert np.abs(picture(early) - picture(before)).mean() > 1.0      # the boundary image changed
    play_until_test_metric(page, 0.9)
    assert shown_number(page, "#test-metric") > 0.9
    after = page.locator("#output").screenshot()
    assert np.abs(picture(after) - picture(early)).mean() > 1.0
    rows = page.evaluate("window.playground.rows")
    assert rows[-1]["val_accuracy"] > 0.9 and [row["epoch"] for row in rows] == list(range(len(rows)))
    assert page.evaluate("window.playground.renders") > 2
    page.screenshot(path=os.path.join(shots, "playground-spiral.png"), full_page=True)


def test_a_deep_sigmoid_network_shows_vanishing_and_batchnorm_from_the_advice_trains_it(open_page, shots):
    page = open_page()
    choose(page, {"dataset": "circle", "hidden": [8] * 10, "activation": "sigmoid"})
    finding = page.locator("#findings li[data-kind='vanishing']").first
    finding.wait_for(timeout=30_000)
    assert "vanishing" in finding.inner_text().lower() and "BatchNorm" in finding.inner_text()
    page.click("#step")
    page.wait_for_function("window.playground.epoch === 1", timeout=30_000)
    page.screenshot(path=os.path.join(shots, "playground-vanishing.png"), full_page=True)
    finding.locator("button", has_text="Add BatchNorm").click()
    page.wait_for_function("window.playground.info.settings.batchnorm === true && window.playground.frame !== null",
                           timeout=30_000)
    assert page.is_checked("#batchnorm")
    play_until_test_metric(page, 0.9)
    assert page.locator("#findings li[data-kind='vanishing']").count() == 0
    page.screenshot(path=os.path.join(shots, "playground-batchnorm.png"), full_page=True)


def test_step_mode_shows_the_numbers_of_the_library(open_page, shots, tmp_path):
    page = open_page()
    choose(page, {"dataset": "gaussians", "hidden": [5, 4], "activation": "tanh", "optimizer": "sgd", "lr": 0.1,
                  "features": ["x1x2"]})
    for epoch in (1, 2, 3):
        page.click("#step")
        page.wait_for_function(f"window.playground.epoch === {epoch}", timeout=30_000)
    model = dp.load(download(page, "#download-model", tmp_path))         # the same network, from the page
    click_training_point(page, 7)
    page.click("#explain")
    page.wait_for_function("window.playground.explanation !== null", timeout=30_000)
    shown = page.evaluate("window.playground.explanation")
    info = page.evaluate("window.playground.info")

    x = data.features(np.array([info["train"]["points"][7]]), ["x1", "x2", "x1x2"])
    target = np.array([info["train"]["y"][7]])
    np.testing.assert_allclose(x[0], shown["x"], rtol=1e-3)          # the page's points are rounded to 4 decimals
    x = np.array([shown["x"]])
    loss = dp.CrossEntropy()
    value = train_step(model, loss, x, target, input_gradient=True)
    np.testing.assert_allclose(shown["loss"], value, rtol=1e-12)
    for trace, layer in zip(model.inspect(), shown["layers"]):
        for name in ("Z", "A", "delta"):
            np.testing.assert_allclose(layer[name], getattr(trace, name)[0], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer["dW"], trace.dW, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer["db"], trace.db, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer["update_W"], -0.1 * trace.dW, rtol=1e-8, atol=1e-15)
    displayed = float(page.inner_text("#explanation .loss"))
    assert displayed == pytest.approx(value, rel=1e-5)
    assert "δ3 (output)" in page.inner_text("#explanation") and "∂L/∂W1" in page.inner_text("#explanation")
    assert page.evaluate("window.playground.epoch") == 3                 # the run itself did not move
    page.screenshot(path=os.path.join(shots, "playground-step.png"), full_page=True)


def test_the_downloads_predict_like_the_page_and_reproduce_its_curve(open_page, tmp_path):
    page = open_page()
    choose(page, {"dataset": "xor", "hidden": [6, 6], "activation": "relu", "batch_size": 8, "seed": 4,
                  "features": ["x1x2"]})
    for epoch in range(1, 6):
        page.click("#step")
        page.wait_for_function(f"window.playground.epoch === {epoch}", timeout=30_000)
    info = page.evaluate("window.playground.info")
    features = info["features"]
    model = dp.load(download(page, "#download-model", tmp_path))
    cells = data.grid(info["extent"], info["grid"])
    logits = model.predict(data.features(cells, features))
    probability = np.exp(logits - logits.max(axis=1, keepdims=True))
    probability = probability[:, 1] / probability.sum(axis=1)
    shown = np.frombuffer(base64.b64decode(page.evaluate("window.playground.frame.output.values")), dtype=np.uint8)
    assert np.abs(shown.astype(int) - np.rint(probability * 255)).max() <= 1          # the page's picture
    test_points = data.features(np.array(info["test"]["points"]), features)
    accuracy = np.mean(model.predict(test_points).argmax(axis=1) == np.array(info["test"]["y"]))
    assert abs(accuracy - shown_number(page, "#test-metric")) <= 0.002 + 1e-9           # what the page says

    script = download(page, "#download-script", tmp_path)
    result = subprocess.run([sys.executable, script, "history.json"], check=False, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    history = json.loads((tmp_path / "history.json").read_text())
    rows = page.evaluate("window.playground.rows")
    assert history["loss"] == [row["loss"] for row in rows]                  # the loss curve, bit for bit
    assert history["val_loss"] == [row["val_loss"] for row in rows]


def test_a_page_without_the_token_and_paths_outside_the_page_are_refused(server, browser):
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(server.base + "/")
        assert response.status == 403 and "token" in page.inner_text("body")
        response = page.goto(server.url)                                  # the printed URL works
        assert response.status == 200
        for path in ("/static/server.py", "/static/%2e%2e/settings.py", "/pyproject.toml"):
            response = page.goto(server.base + path)
            assert response.status == 404, path
    finally:
        context.close()


def test_each_tab_has_its_own_run_and_a_closed_tab_ends_it(open_page, server, monkeypatch):
    from deltaprop.playground import server as module

    monkeypatch.setattr(module, "GRACE", 0.5)
    first, second = open_page(), open_page()
    first_id, second_id = first.evaluate("window.playground.runId"), second.evaluate("window.playground.runId")
    assert first_id != second_id and server.runs.get(first_id) and server.runs.get(second_id)
    first.click("#play")
    first.wait_for_function("window.playground.epoch > 3", timeout=30_000)
    assert second.evaluate("window.playground.epoch") == 0                   # the other tab's run did not move
    session = server.runs.get(first_id)
    first.close()
    deadline = time.monotonic() + 30
    while server.runs.get(first_id) is not None or session.thread.is_alive():
        assert time.monotonic() < deadline, "the closed tab's run did not end"
        time.sleep(0.05)
    assert server.runs.get(second_id) is not None
