"""How responsive the playground is: pictures drawn per second, epochs trained per second and the time a click takes
to show, with 1 and 3 tabs playing at once, measured in headless Chromium (Debian's chromium, driven by Playwright).

    python bench/playground.py [--seconds 10]

The page counts the pictures it draws in the last second (``window.playground.fps``); this reads it once a second
while the tabs play and reports the median. "Pause shown" is the time from a click on Pause until the page says
"paused" — the server stops at the end of the current epoch.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import machine, publish
from playground_server import LiveServer

NETWORKS = {
    "spiral, 3×8 ReLU": {"dataset": "spiral", "hidden": [8, 8, 8], "activation": "relu"},
    "circle, 10×8 sigmoid + BatchNorm": {"dataset": "circle", "hidden": [8] * 10, "activation": "sigmoid",
                                         "batchnorm": True},
    "wine (PCA), 16×32 tanh": {"dataset": "wine", "hidden": [32] * 16, "activation": "tanh"},
}


def measure(browser, server, settings: dict, tabs: int, seconds: float) -> dict:
    # one window per tab: Chromium draws a background tab of a window about once a second (it throttles
    # requestAnimationFrame), as any browser does; its frames still arrive
    contexts = [browser.new_context(viewport={"width": 1440, "height": 1000}) for _ in range(tabs)]
    pages = []
    for context in contexts:
        page = context.new_page()
        page.goto(server.url)
        page.wait_for_function("window.playground.frame !== null", timeout=60_000)
        page.evaluate("settings => window.playground.applySettings(settings)", settings)
        page.wait_for_function("wanted => window.playground.info.settings.hidden.length === wanted && "
                               "window.playground.frame !== null", arg=len(settings["hidden"]), timeout=60_000)
        pages.append(page)
    sizes = []
    for page in pages:
        page.click("#play")
    started_epochs = [page.evaluate("window.playground.epoch") for page in pages]
    time.sleep(1.5)
    samples, started = [], time.perf_counter()
    while time.perf_counter() - started < seconds:
        time.sleep(1.0)
        samples.append(min(page.evaluate("window.playground.fps") for page in pages))
        sizes.append(len(json.dumps(pages[0].evaluate("window.playground.frame"))))
    elapsed = time.perf_counter() - started + 1.5
    epochs = [page.evaluate("window.playground.epoch") - first for page, first in zip(pages, started_epochs)]
    requests = []                            # the server alone: a pause request and its answer, then play again
    run_id = pages[0].evaluate("window.playground.runId")
    with server.client() as client:
        for _ in range(5):
            sent = time.perf_counter()
            client.post(f"/api/runs/{run_id}/control", json={"action": "pause"})
            requests.append((time.perf_counter() - sent) * 1000)
            client.post(f"/api/runs/{run_id}/control", json={"action": "play"})
            time.sleep(0.2)
    pauses = []
    for _ in range(3):                 # pause, then play again (not timed), three times
        clicked = time.perf_counter()
        pages[0].click("#play")
        pages[0].wait_for_function("document.getElementById('state').textContent === 'paused'", timeout=30_000)
        pauses.append((time.perf_counter() - clicked) * 1000)
        pages[0].click("#play")
        pages[0].wait_for_function("document.getElementById('state').textContent === 'playing'", timeout=30_000)
        time.sleep(0.5)
    pause_ms = statistics.median(pauses)
    for context in contexts:
        context.close()
    return {"fps": statistics.median(samples), "epochs_per_s": statistics.median(epochs) / elapsed,
            "frame_kb": statistics.median(sizes) / 1024, "pause_ms": pause_ms,
            "request_ms": statistics.median(requests)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("bench/playground.py needs Chromium: apt-get install chromium")
    rows = []
    with LiveServer() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for name, settings in NETWORKS.items():
            for tabs in (1, 3):
                result = measure(browser, server, settings, tabs, args.seconds)
                rows.append(f"| {name} | {tabs} | {result['fps']:.0f} | {result['epochs_per_s']:.0f} | "
                            f"{result['frame_kb']:.0f} | {result['request_ms']:.0f} | {result['pause_ms']:.0f} |")
                print(rows[-1], flush=True)
        browser.close()
    heading = "## Playground responsiveness (bench/playground.py)"
    publish(heading, [heading, "", (
        f"{machine()}, {time.strftime('%Y-%m-%d')}; headless Chromium on the same machine as the server, one window "
        f"per run, every run playing at full speed for {args.seconds:.0f} s. Pictures per second: the median over "
        "one-second samples of the slowest window (the page draws at most 20 frames a second: one per 50 ms of "
        "training); epochs per second: per run; frame: the JSON of one frame (pictures, weights, unit states); "
        "pause request: the server's answer to a pause request (median of 5, from this script); pause shown: "
        "from a click on Pause to 'paused' on the page (median of 3) — the rest is Chromium's own time on the "
        "same two cores."),
        "",
        "| network | windows | pictures/s | epochs/s per run | frame KB | pause request (ms) | pause shown (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
    ])


if __name__ == "__main__":
    main()
