"""The playground without a browser: its data, settings, step mode, runs, script, server and command.

The browser tests (tests/test_playground_browser.py) drive the page itself."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.datasets import toys

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from playground_server import LiveServer

from deltaprop.playground import data
from deltaprop.playground.session import Session
from deltaprop.playground.settings import Settings
from deltaprop.playground.stepmode import explain_point

R = toys.RADIUS


@pytest.fixture
def sessions():
    """Sessions made in a test, closed after it (their threads end)."""
    made = []

    def make(**settings):
        session = Session(Settings.from_dict(settings))
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def wait_until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ---------------------------------------------------------------------------------------------- the toys
def test_toys_follow_their_formulas():
    X, y = toys.circle(400, seed=1)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.all(radius[y == 1] <= 0.5 * R) and np.all((radius[y == 0] >= 0.7 * R) & (radius[y == 0] <= R))
    X, y = toys.xor(400, seed=1)
    assert np.array_equal(y, (np.sign(X[:, 0]) == np.sign(X[:, 1])).astype(int))
    assert np.all(np.abs(X) >= 0.1 * R - 1e-12) and np.all(np.abs(X) <= R)
    X, y = toys.gaussians(4000, seed=1)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [0.5 * R, 0.5 * R], atol=0.05)
    np.testing.assert_allclose(X[y == 0].std(axis=0), [0.2 * R, 0.2 * R], rtol=0.08)
    X, y = toys.spiral(400, seed=1)
    t = np.hypot(X[:, 0], X[:, 1]) / R                    # radius R·t, angle 3.5π·t (+π for class 0)
    expected = 3.5 * np.pi * t + np.pi * (1 - y)
    difference = np.angle(np.exp(1j * (np.arctan2(X[:, 1], X[:, 0]) - expected)))
    np.testing.assert_allclose(difference, 0, atol=1e-9)
    for name in toys.NAMES:
        X, y = toys.toy(name, 301, seed=3)
        assert X.shape == (301, 2) and set(np.unique(y)) == {0, 1} and abs(int(y.sum()) - 150) <= 1
        again, _ = toys.toy(name, 301, seed=3)
        noisy, y_noisy = toys.toy(name, 301, noise=0.2, seed=3)
        assert np.array_equal(X, again) and np.array_equal(y, y_noisy) and not np.array_equal(X, noisy)


@pytest.mark.parametrize("call, message", [
    (lambda: toys.toy("moons"), "toy name must be one of circle, xor, gaussians, spiral"),
    (lambda: toys.toy("circle", noise=0.7), "noise must be a number from 0 to 0.5"),
    (lambda: toys.toy("circle", n_samples=1), "n_samples must be at least 2"),
])
def test_toys_refuse_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------------------------------- settings and data
@pytest.mark.parametrize("values, message", [
    ({"dataset": "mnist"}, "dataset must be one of"),
    ({"hidden": [8] * 17}, "hidden must list at most 16 layer sizes"),
    ({"hidden": [33]}, "hidden must be a whole number from 1 to 32"),
    ({"hidden": [2.5]}, "hidden must be a whole number"),
    ({"lr": 0}, "lr must be a number from 1e-06 to 10"),
    ({"lr": float("nan")}, "lr must be a number"),
    ({"batch_size": True}, "batch_size must be a whole number"),
    ({"features": []}, "features must be a non-empty list"),
    ({"features": ["x3"]}, "features must be one of"),
    ({"features": ["x1", "x1"]}, "features must not repeat"),
    ({"activation": "softmax"}, "activation must be one of"),
    ({"columns": [1]}, "columns must be two different column numbers"),
    ({"dropout": 1.0}, "dropout must be a number from 0 to 0.9"),
    ({"momentum": 0.9}, "unknown setting 'momentum'"),
])
def test_settings_name_the_wrong_field(values, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_dict(values)


def test_split_features_and_grid():
    train, test = data.split(10, 0.3, seed=4)
    assert len(train) == 3 and len(test) == 7 and sorted(np.r_[train, test]) == list(range(10))
    points = np.array([[1.0, 2.0], [-0.5, 3.0]])
    inputs = data.features(points, ["x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"])
    np.testing.assert_array_equal(inputs, [[1, 2, 1, 4, 2, np.sin(1), np.sin(2)],
                                           [-0.5, 3, 0.25, 9, -1.5, np.sin(-0.5), np.sin(3)]])
    cells = data.grid(2.0, 4)                       # centres ±0.5·(2·2/4)… from the top row down
    assert cells.shape == (16, 2)
    np.testing.assert_allclose(cells[0], [-1.5, 1.5])
    np.testing.assert_allclose(cells[-1], [1.5, -1.5])


def test_tables_are_shown_through_principal_components_or_two_columns():
    from sklearn.datasets import load_wine
    from sklearn.decomposition import PCA

    settings = Settings.from_dict({"dataset": "wine", "train_fraction": 0.6})
    problem = data.problem(settings)
    X = load_wine().data
    train, _ = data.split(len(X), 0.6, seed=0)
    standardized = (X - X[train].mean(axis=0)) / X[train].std(axis=0)
    expected = PCA(n_components=2).fit(standardized[train]).transform(standardized[train])
    expected /= expected.std(axis=0)
    np.testing.assert_allclose(np.abs(problem.points_train), np.abs(expected), atol=1e-9)   # up to the signs
    assert problem.axes == ["PC1", "PC2"] and problem.classes == ["class_0", "class_1", "class_2"]
    assert problem.n_out == 3 and problem.extent >= np.abs(problem.points_test).max()

    columns = data.problem(Settings.from_dict({"dataset": "wine", "columns": [0, 9]}))
    assert columns.axes == ["alcohol", "color_intensity"]
    np.testing.assert_allclose(columns.points_train.mean(axis=0), 0, atol=1e-12)
    regression = data.problem(Settings.from_dict({"dataset": "diabetes"}))
    assert regression.task == "regression" and regression.n_out == 1
    assert abs(regression.y_train.mean()) < 1e-12 and abs(regression.y_train.std() - 1) < 1e-12
    with pytest.raises(ValueError, match="columns must be below 4"):
        data.problem(Settings.from_dict({"dataset": "iris", "columns": [0, 7]}))


# ---------------------------------------------------------------------------------------------- step mode
def test_step_mode_gives_backpropagation_as_written_out():
    """One point through a 3-4-3-2 tanh network with CrossEntropy and SGD, by the formulas in this test."""
    settings = Settings.from_dict({"dataset": "circle", "hidden": [4, 3], "features": ["x1", "x2", "x1x2"],
                                   "optimizer": "sgd", "lr": 0.1, "seed": 5})
    from deltaprop.playground.network import build_loss, build_model, build_optimizer

    model, loss, optimizer = build_model(settings, 3, 2), build_loss(settings), build_optimizer(settings)
    W = [layer.W.value.copy() for layer in model.layers if layer.kind == "weights"]
    b = [layer.b.value.copy() for layer in model.layers if layer.kind == "weights"]
    x, target = np.array([0.4, -1.2, -0.48]), 1
    result = explain_point(model, optimizer, loss, x, target)

    A0 = x[None]
    Z1 = A0 @ W[0] + b[0]
    A1 = np.tanh(Z1)
    Z2 = A1 @ W[1] + b[1]
    A2 = np.tanh(Z2)
    Z3 = A2 @ W[2] + b[2]
    p = np.exp(Z3 - Z3.max()) / np.exp(Z3 - Z3.max()).sum()
    L = -np.log(p[0, target])
    delta3 = p - np.eye(2)[[target]]                       # softmax + cross-entropy: p − y (N = 1)
    delta2 = (delta3 @ W[2].T) * (1 - A2 ** 2)
    delta1 = (delta2 @ W[1].T) * (1 - A1 ** 2)
    layers = result["layers"]
    np.testing.assert_allclose(result["loss"], L, rtol=1e-12)
    for got, (z, a, d, a_in) in zip(layers, [(Z1, A1, delta1, A0), (Z2, A2, delta2, A1), (Z3, Z3, delta3, A2)]):
        np.testing.assert_allclose(got["Z"], z[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got["A"], a[0], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got["delta"], d[0], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(got["dW"], a_in.T @ d, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(got["db"], d[0], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(got["update_W"], -0.1 * (a_in.T @ d), rtol=1e-9, atol=1e-15)
    assert result["loss_after"] < result["loss"]
    np.testing.assert_array_equal(model.layers[0].W.value, W[0])      # the run's model is not touched


def test_step_mode_refuses_batchnorm():
    settings = Settings.from_dict({"batchnorm": True})
    from deltaprop.playground.network import build_loss, build_model, build_optimizer

    with pytest.raises(ValueError, match="one point cannot be stepped through BatchNorm"):
        explain_point(build_model(settings, 2, 2), build_optimizer(settings), build_loss(settings), [0.0, 1.0], 0)


# ---------------------------------------------------------------------------------------------- runs
def test_a_run_waits_for_play_and_steps_one_epoch_at_a_time(sessions):
    session = sessions(dataset="xor", hidden=[4])
    wait_until(lambda: session.frame is not None)
    time.sleep(0.2)
    assert session.epochs == 0 and session.state == "paused"
    session.step()
    wait_until(lambda: session.epochs == 1)
    session.step()
    session.step()
    wait_until(lambda: session.epochs == 3)
    time.sleep(0.2)
    assert session.epochs == 3
    session.play()
    wait_until(lambda: session.epochs > 10)
    session.pause()
    time.sleep(0.1)
    paused_at = session.epochs
    time.sleep(0.3)
    assert session.epochs == paused_at and session.state == "paused"
    snapshot = session.snapshot(0)
    frame = json.loads(snapshot["frame"])
    assert len(snapshot["rows"]) == paused_at
    assert [len(layer) for layer in snapshot["rows"][-1]["delta"]] == [4, 2]    # δ per unit, hidden and output
    assert len(snapshot["rows"][-1]["grad_norm"]) == 2                          # ‖∂L/∂W‖ per layer
    assert len(frame["units"]) == 1 and len(frame["units"][0]) == 4 and frame["output"]["kind"] == "probability"
    session.set_speed(10)
    with pytest.raises(ValueError, match="speed must be one of"):
        session.set_speed(7)


def test_speed_limits_the_epochs_per_second(sessions):
    session = sessions(dataset="gaussians", hidden=[2])
    session.set_speed(10)
    session.play()
    wait_until(lambda: session.epochs >= 1)
    started, first = time.monotonic(), session.epochs
    time.sleep(1.0)
    rate = (session.epochs - first) / (time.monotonic() - started)
    assert rate <= 15          # an upper bound only: the pace never lets more through (a slow machine gives fewer)


def test_a_long_run_keeps_only_its_latest_epochs(sessions, monkeypatch):
    from deltaprop.playground import session as module

    monkeypatch.setattr(module, "KEPT_VALUES", 40)
    monkeypatch.setattr(module, "KEPT_EPOCHS", (10, 20))
    session = sessions(dataset="gaussians", hidden=[2])       # 40 // (2 + 2) = 10 epochs kept
    session.play()
    wait_until(lambda: session.epochs >= 60)
    session.pause()
    time.sleep(0.1)
    epochs = session.epochs
    assert len(session.rows) <= 11
    assert [row["epoch"] for row in session.rows] == list(range(epochs - len(session.rows), epochs))
    assert session.snapshot(0)["rows"] == session.rows                  # a stream far behind gets what is kept
    assert session.snapshot(epochs - 2)["rows"] == session.rows[-2:] and session.snapshot(epochs)["rows"] == []


def test_the_script_reproduces_the_run_bit_for_bit(sessions, tmp_path):
    session = sessions(dataset="wine", hidden=[6, 5], activation="relu", dropout=0.1, l2=0.001,
                       optimizer="momentum", lr=0.02, batch_size=10, seed=3,
                       features=["x1", "x2", "x1x2", "sin_x1"])
    for _ in range(12):
        session.step()
    wait_until(lambda: session.epochs == 12)
    source = session.call(lambda s: __import__("deltaprop.playground.script", fromlist=["script"]).script(
        s.settings, s.epochs))
    (tmp_path / "run.py").write_text(source)
    result = subprocess.run([sys.executable, "run.py", "history.json"], check=False, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["loss"] == [row["loss"] for row in session.rows]          # exactly: bit for bit
    assert history["val_loss"] == [row["val_loss"] for row in session.rows]
    assert history["accuracy"] == [row["accuracy"] for row in session.rows]
    saved = dp.load(str(tmp_path / "playground-model.safetensors"))
    for got, expected in zip(saved.parameters(), session.model.parameters()):
        np.testing.assert_array_equal(got.value, expected.value)
    assert "epoch 12: train loss" in result.stdout


def test_a_diverging_run_stops_with_the_reason(sessions):
    session = sessions(dataset="diabetes", hidden=[8], optimizer="sgd", lr=5.0,
                       features=["x1", "x2", "x1^2", "x2^2"])
    session.play()
    wait_until(lambda: session.state in ("stopped", "failed"), timeout=60)
    assert session.state == "stopped" and "non-finite" in session.message
    kinds = {finding["kind"] for finding in session.findings}
    assert "nonfinite" in kinds
    actions = [action for finding in session.findings for action in finding["actions"]]
    assert {"label": "Lower the learning rate to 0.5", "change": {"lr": 0.5}} in actions
    json.dumps(session.snapshot(0), allow_nan=False)          # the page gets valid JSON: no NaN anywhere


def test_findings_come_with_the_changes_their_advice_names():
    from deltaprop.playground import advice
    from deltaprop.playground.network import build_loss, build_model

    settings = Settings.from_dict({"hidden": [8] * 10, "activation": "sigmoid"})
    problem = data.problem(settings)
    model = build_model(settings, 2, 2)
    found = advice.findings(model, problem.X_train, problem.y_train, build_loss(settings), settings)
    vanishing = [finding for finding in found if finding["kind"] == "vanishing"]
    assert vanishing and vanishing[0]["value"] < 1e-2
    labels = [action["label"] for action in vanishing[0]["actions"]]
    assert labels == ["Add BatchNorm", "Switch to ReLU + He"]
    assert vanishing[0]["actions"][0]["change"] == {"batchnorm": True}


# ---------------------------------------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def server():
    with LiveServer() as live:
        yield live


def test_requests_without_the_token_or_from_elsewhere_are_refused(server):
    import httpx

    with httpx.Client(base_url=server.base, timeout=30) as anonymous:
        for path in ("/", "/static/app.js", "/api/runs"):
            response = anonymous.get(path)
            assert response.status_code == 403 and "token" in response.text
        assert anonymous.get("/?token=wrong").status_code == 403
        page = anonymous.get(f"/?token={server.token}")              # the printed URL: the page and a cookie
        assert page.status_code == 200 and "<title>deltaprop playground</title>" in page.text
        assert "httponly" in page.headers["set-cookie"].lower() and "samesite=strict" in page.headers["set-cookie"].lower()
        assert anonymous.get("/static/app.js").status_code == 200     # the cookie stands for the token now
    with server.client() as client:
        assert client.get("/static/style.css").status_code == 200
        other_origin = client.post("/api/runs", json={}, headers={"Origin": "http://evil.example"})
        assert other_origin.status_code == 403 and "another origin" in other_origin.text
        rebound = client.get("/", headers={"Host": "evil.example"})
        assert rebound.status_code == 403 and "its own address" in rebound.text
        for path in ("/static/server.py", "/static/..%2fserver.py", "/static/%2e%2e/settings.py", "/settings.py",
                     "/static/", "/../../etc/passwd"):
            response = client.get(path)
            assert response.status_code == 404, path


def test_bad_requests_get_one_clear_line(server):
    with server.client() as client:
        response = client.post("/api/runs", json={"settings": {"hidden": [99]}})
        assert response.status_code == 400 and response.json() == {
            "error": "hidden must be a whole number from 1 to 32, got 99"}
        assert client.post("/api/runs", content=b"{not json").status_code == 400
        before = len(server.runs.sessions)
        columns = client.post("/api/runs", json={"settings": {"dataset": "iris", "columns": [0, 7]}})
        assert columns.status_code == 400 and columns.json()["error"].startswith("columns must be below 4")
        assert len(server.runs.sessions) == before                       # a refused run holds no place
        assert client.get("/api/runs/nope").status_code == 404
        run = client.post("/api/runs", json={"settings": {"hidden": [3]}}).json()
        bad = client.post(f"/api/runs/{run['id']}/control", json={"action": "jump"})
        assert bad.status_code == 400 and "action must be play, pause, step or reset" in bad.json()["error"]
        refused = client.post(f"/api/runs/{run['id']}/settings", json={"settings": {"dataset": "wine",
                                                                                  "columns": [3, 20]}})
        assert refused.status_code == 400 and "columns must be below 13" in refused.json()["error"]
        client.post(f"/api/runs/{run['id']}/control", json={"action": "step"})      # the run goes on as it was
        wait_until(lambda: server.runs.get(run["id"]).epochs == 1)
        far = client.post(f"/api/runs/{run['id']}/explain", json={"point": 10_000})
        assert far.status_code == 400 and "point must be a training point number from 0 to 249" in far.json()["error"]
        client.delete(f"/api/runs/{run['id']}")


def test_too_many_runs_are_refused(server, monkeypatch):
    from deltaprop.playground import server as module

    monkeypatch.setattr(module, "MAX_RUNS", len(server.runs.sessions) + 1)
    with server.client() as client:
        first = client.post("/api/runs", json={})
        assert first.status_code == 200
        second = client.post("/api/runs", json={})
        assert second.status_code == 429 and "close a playground tab" in second.json()["error"]
        client.delete(f"/api/runs/{first.json()['id']}")


def test_the_stream_sends_the_latest_frame_and_every_epoch(server):
    """A slow reader misses frames, never epochs: each event carries the rows since the last one."""
    with server.client() as client:
        run = client.post("/api/runs", json={"settings": {"dataset": "xor", "hidden": [4]}}).json()
        client.post(f"/api/runs/{run['id']}/control", json={"action": "play"})
        rows, frames, events = [], 0, []
        with client.stream("GET", f"/api/runs/{run['id']}/events") as stream:
            kind = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "frame":
                    event = json.loads(line[6:])
                    rows += event["rows"]
                    frames += 1
                    events.append(event["epoch"])
                    time.sleep(0.3)                     # a slow page
                    if frames == 5:
                        break
                elif line.startswith("data: ") and kind == "run":
                    assert json.loads(line[6:])["sizes"] == [2, 4, 2]
        client.post(f"/api/runs/{run['id']}/control", json={"action": "pause"})
        assert [row["epoch"] for row in rows] == list(range(len(rows)))         # every epoch, in order, once
        assert len(rows) == events[-1] and events[-1] > frames                    # frames skipped, not queued
        client.delete(f"/api/runs/{run['id']}")


def test_a_closed_page_ends_its_run(server, monkeypatch):
    from deltaprop.playground import server as module

    monkeypatch.setattr(module, "GRACE", 0.2)
    with server.client() as client:
        run = client.post("/api/runs", json={}).json()
        session = server.runs.get(run["id"])
        client.post(f"/api/runs/{run['id']}/control", json={"action": "play"})
        with client.stream("GET", f"/api/runs/{run['id']}/events") as stream:
            next(stream.iter_lines())
        wait_until(lambda: server.runs.get(run["id"]) is None, timeout=20)
        wait_until(lambda: not session.thread.is_alive(), timeout=20)
        assert client.get(f"/api/runs/{run['id']}").status_code == 404


def test_the_downloaded_model_predicts_like_the_run(server, tmp_path):
    with server.client() as client:
        run = client.post("/api/runs", json={"settings": {"dataset": "iris", "hidden": [5],
                                                          "features": ["x1", "x2", "x1^2"]}}).json()
        for _ in range(3):
            client.post(f"/api/runs/{run['id']}/control", json={"action": "step"})
        session = server.runs.get(run["id"])
        wait_until(lambda: session.epochs == 3)
        download = client.get(f"/api/runs/{run['id']}/model")
        assert download.status_code == 200 and "playground-model.safetensors" in download.headers["content-disposition"]
        (tmp_path / "model.safetensors").write_bytes(download.content)
        model = dp.load(str(tmp_path / "model.safetensors"))
        inputs = data.features(np.array(run["test"]["points"]), ["x1", "x2", "x1^2"])
        np.testing.assert_allclose(model.predict(inputs), session.model.predict(inputs), rtol=1e-4, atol=1e-4)
        accuracy = np.mean(model.predict(session.problem.X_test).argmax(axis=1) == session.problem.y_test)
        assert accuracy == session.rows[-1]["val_accuracy"]
        script = client.get(f"/api/runs/{run['id']}/script")
        assert script.status_code == 200 and "EPOCHS = 3" in script.text and "data.load('iris'" in script.text
        client.delete(f"/api/runs/{run['id']}")


# ---------------------------------------------------------------------------------------------- the command
def test_the_command_prints_a_url_with_a_token_and_stops_on_ctrl_c():
    launcher = [os.path.join(os.path.dirname(sys.executable), "deltaprop")]
    process = subprocess.Popen([*launcher, "playground", "--no-browser", "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert "deltaprop playground is running" in process.stdout.readline()
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "/?token=" in url and len(url.split("token=")[1]) >= 32
        import httpx

        assert httpx.get(url, timeout=30).status_code == 200
        assert httpx.get(url.split("?")[0], timeout=30).status_code == 403
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and stderr.strip().splitlines()[-1] == "deltaprop: interrupted"


def test_the_command_refuses_a_taken_port_in_one_line():
    from conftest import run_cli

    from deltaprop.cli.playground import bind

    taken = bind(0)
    try:
        code, _, stderr = run_cli("playground", "--no-browser", "--port", taken.getsockname()[1])
    finally:
        taken.close()
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "--port" in stderr and "--port 0" in stderr
    code, _, stderr = run_cli("playground", "--no-browser", "--port", 70000)
    assert code == 2 and "--port must be from 0 to 65535" in stderr


def test_the_command_names_the_extra_it_needs(monkeypatch, capsys):
    from deltaprop.cli import extras, main

    monkeypatch.setattr(extras, "installed", lambda module: module not in ("starlette", "uvicorn"))
    assert main(["playground", "--no-browser"]) == 2
    assert "needs starlette, uvicorn, not installed: pip install 'deltaprop[playground]'" in capsys.readouterr().err
