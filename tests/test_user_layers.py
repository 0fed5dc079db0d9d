"""Layers written the way a user writes them — one class each, nothing else in deltaprop touched —
work everywhere: gradcheck, fit, the monitor, inspect(), diagnose, dp.mlp and model files."""
import numpy as np
import pytest

import deltaprop as dp


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class Swish(dp.Activation):
    """f(z) = z·σ(z); f'(z) = σ(z) + z·σ(z)·(1 − σ(z)). Negative for z < 0 like the ReLU family."""

    family = "relu"
    recommended_init = "he_uniform"

    def __init__(self):
        super().__init__()
        self.Z = None

    def forward(self, x, training=False):
        self.Z = x
        return x * sigmoid(x)

    def derivative(self):
        s = sigmoid(self.Z)
        return s + self.Z * s * (1 - s)


class Scale(dp.Layer):
    """y = x ⊙ s, a learnable scale per feature: ∂L/∂s = Σ_batch ∂L/∂y ⊙ x, ∂L/∂x = ∂L/∂y ⊙ s."""

    kind = "weights"

    def __init__(self, n_features: int, init: float = 1.0):
        super().__init__()
        self.n_features, self.init = n_features, init
        self.s = dp.Parameter("s", np.full(n_features, init, dtype=np.float32))
        self.x = None

    @property
    def input_shape(self):
        return (self.n_features,)

    def parameters(self):
        return [self.s]

    def forward(self, x, training=False):
        self.x = x
        return x * self.s.value

    def backward(self, grad_y):
        np.sum(grad_y * self.x, axis=0, out=self.s.grad)
        return grad_y * self.s.value

    def config(self):
        return {"n_features": self.n_features, "init": self.init}


@pytest.fixture(autouse=True, scope="module")
def registered():
    """What a user writes as ``@dp.register_layer`` above each class; undone afterwards, so that the other
    test modules see only deltaprop's own layers (registration is process-wide)."""
    for cls in (Swish, Scale):
        dp.register_layer(cls)
    yield
    for cls in (Swish, Scale):
        dp.layers.LAYERS.unregister(cls)


def test_a_class_defined_again_replaces_its_registration_but_no_other_name_is_shadowed():
    class Again(dp.Activation):
        pass

    first = Again
    dp.register_layer(first)

    class Again(dp.Activation):   # noqa: F811 - the same cell run twice
        pass

    dp.register_layer(Again)
    assert dp.layers.LAYERS.lookup("again") is Again
    dp.layers.LAYERS.unregister(Again)

    class Dense(dp.Layer):
        pass

    with pytest.raises(ValueError, match="a layer type named 'dense' is already registered "
                                         r"\(deltaprop.layers.dense.Dense\)"):
        dp.register_layer(Dense)


def network(seed=0, dtype="float32", scale=1.0):
    return dp.Sequential([dp.Dense(64, 32, init="he_uniform"), Swish(), Scale(32, init=scale), dp.Dense(32, 10)],
                         seed=seed, dtype=dtype)


@pytest.fixture(scope="module")
def digits():
    sklearn = pytest.importorskip("sklearn.datasets")
    data = sklearn.load_digits()
    X = (data.data - data.data.mean(0)) / (data.data.std(0) + 1e-9)
    return X, data.target


def test_each_passes_gradcheck_inside_a_model(rng):
    model = dp.Sequential([dp.Dense(5, 6), Swish(), Scale(6, init=0.7), dp.Dense(6, 3)], seed=1, dtype="float64")
    for n in (1, 7):
        report = dp.gradcheck(model, rng.normal(size=(n, 5)), rng.integers(0, 3, size=n), loss=dp.CrossEntropy())
        assert set(report) == {"0.W", "0.b", "2.s", "3.W", "3.b", "input"}
        assert report.worst <= 1e-6, report


def test_they_train(digits):
    X, y = digits
    model = network()
    history = model.fit(X[:1400], y[:1400], loss="cross_entropy", optimizer=dp.Adam(1e-2), epochs=8, batch_size=32,
                        seed=0, verbose=0)
    assert history["loss"][-1] < history["loss"][0] / 4
    assert np.mean(model.predict(X[1400:]).argmax(1) == y[1400:]) >= 0.9
    assert not np.allclose(model.layers[2].s.value, 1.0)    # the scale learned


def test_they_appear_in_the_monitor_and_inspect(digits):
    X, y = digits
    model = network()
    history = model.fit(X[:256], y[:256], loss="cross_entropy", optimizer="adam", epochs=1, batch_size=64,
                        monitor=1, seed=0, verbose=0)
    records = history.diagnostics
    for key in ("1.mean", "1.std", "1.dead", "2.mean", "2.grad_norm", "2.delta_rms", "2.weight_norm",
                "2.update_ratio"):
        assert len(records[key]) == 4, key
    assert records.layer_names[1] == "layer 1 (Swish)" and records.activations["end"][1].size > 0
    traces = model.inspect()
    assert [t.layer for t in traces] == [0, 2, 3]
    scale = traces[1]
    assert scale.A_in is model.layers[1].output and scale.delta.shape == (64, 32)
    np.testing.assert_allclose(scale.grads["s"], np.sum(scale.delta * scale.A_in, axis=0), rtol=1e-5)
    np.testing.assert_allclose(traces[0].A, traces[0].Z * sigmoid(traces[0].Z), rtol=1e-5)   # A = swish(Z)


def test_diagnose_judges_them(digits):
    X, y = digits
    vanishing = network(scale=1e-4)
    assert [f.kind for f in dp.diagnose(vanishing, X, y, "cross_entropy") if f.layer == 0] == ["vanishing"]
    dead = network()
    dead.layers[0].b.value[...] = -50
    findings = dp.diagnose(dead, X, y, "cross_entropy")
    assert any(f.kind == "dead_units" and f.layer_name == "layer 1 (Swish)" and f.value == 1.0 for f in findings)
    assert dp.diagnose(network(), X, y, "cross_entropy") == []


def test_mlp_builds_with_a_registered_activation_and_its_init():
    model = dp.mlp([400, 300, 10], activation="swish", seed=0)
    assert isinstance(model.layers[1], Swish)
    assert model.layers[0].W.value.var() == pytest.approx(2 / 400, rel=0.02)   # its recommended He init


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_they_round_trip_through_model_files(digits, tmp_path, dtype):
    X, y = digits
    model = network(dtype=dtype)
    model.fit(X[:200], y[:200], loss="cross_entropy", optimizer="adam", epochs=2, seed=0, verbose=0)
    dp.save(model, tmp_path / "m.safetensors")
    loaded = dp.load(tmp_path / "m.safetensors")
    assert [type(layer) for layer in loaded.layers] == [dp.Dense, Swish, Scale, dp.Dense]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_an_unregistered_layer_is_refused_with_the_remedy(tmp_path):
    class Unregistered(dp.Activation):
        def forward(self, x, training=False):
            return x

    model = dp.Sequential([dp.Dense(2, 2), Unregistered()])
    with pytest.raises(TypeError, match=r"layer 1 \(Unregistered\) is not a registered layer type and cannot be "
                                        r"saved: register its class with @deltaprop.register_layer"):
        dp.save(model, tmp_path / "m.safetensors")
