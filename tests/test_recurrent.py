"""RNN, GRU and LSTM against PyTorch's nn.RNN / nn.GRU / nn.LSTM in float64: outputs, final states, ∂L/∂x,
every parameter gradient and ∂L/∂(initial state); and the float64 gradient check — through both time loops, the
compiled one and the NumPy cells."""
import numpy as np
import pytest
from conftest import FailAt

import deltaprop as dp

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def time_loop(request, monkeypatch):
    """Every test runs twice: the time loops compiled (numba, small layers) and the NumPy cells (the reference)."""
    from deltaprop.layers import recurrent_kernels

    if request.param == "numpy":
        monkeypatch.setattr(recurrent_kernels, "COMPILED_HIDDEN", 0)
    elif not recurrent_kernels.available(1):
        pytest.skip("numba is not installed: only the NumPy cells run")
    return request.param

KINDS = {
    "rnn-tanh": (dp.RNN, torch.nn.RNN, {"nonlinearity": "tanh"}),
    "rnn-relu": (dp.RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
    "gru": (dp.GRU, torch.nn.GRU, {}),
    "lstm": (dp.LSTM, torch.nn.LSTM, {}),
}


def torch_twin(layer, torch_class, options):
    """The PyTorch layer with deltaprop's weights (W transposed: PyTorch keeps weight_ih as (G·H, inputs))."""
    twin = torch_class(layer.n_in, layer.hidden, num_layers=layer.num_layers, bidirectional=layer.bidirectional,
                       batch_first=True, **options).double()
    with torch.no_grad():
        for param in layer.parameters():
            name = param.name.split(".")[-1]
            kind, rest = name.split("_", 1)                 # "W", "ih_l0_reverse"
            torch_name = ("weight_" if kind == "W" else "bias_") + rest
            value = param.value.T if kind == "W" else param.value
            getattr(twin, torch_name).copy_(torch.tensor(np.ascontiguousarray(value)))
    return twin


def torch_grads(layer, twin):
    grads = {}
    for param in layer.parameters():
        name = param.name.split(".")[-1]
        kind, rest = name.split("_", 1)
        grad = getattr(twin, ("weight_" if kind == "W" else "bias_") + rest).grad.numpy()
        grads[param.name] = grad.T if kind == "W" else grad
    return grads


def compare(kind, rng, *, num_layers=1, bidirectional=False, return_sequences=True, initial=False, lengths=None,
            N=3, T=5, F=4, H=6):
    dp_class, torch_class, options = KINDS[kind]
    layer = dp_class(F, H, num_layers=num_layers, bidirectional=bidirectional, return_sequences=return_sequences,
                     mask_value=None if lengths is None else 0.0, **options)
    model = dp.Sequential([layer], seed=1, dtype="float64")
    twin = torch_twin(layer, torch_class, options)
    x = rng.normal(size=(N, T, F))
    if lengths is not None:
        for row, length in enumerate(lengths):
            x[row, length:] = 0.0
    D = 2 if bidirectional else 1
    state = None
    if initial:
        h0 = rng.normal(size=(num_layers * D, N, H))
        state = (h0, rng.normal(size=h0.shape)) if kind == "lstm" else h0
        layer.initial_state = state
    out = model.forward(x, training=True)
    grad_out = rng.normal(size=out.shape)
    dx = model.backward(grad_out)

    x_t = torch.tensor(x, requires_grad=True)
    state_t = None
    if initial:
        state_t = tuple(torch.tensor(s, requires_grad=True) for s in state) if kind == "lstm" else \
            torch.tensor(state, requires_grad=True)
    source = x_t
    if lengths is not None:
        source = torch.nn.utils.rnn.pack_padded_sequence(x_t, torch.tensor(lengths), batch_first=True,
                                                         enforce_sorted=False)
    seq_t, final_t = twin(source, state_t)
    if lengths is not None:
        seq_t, _ = torch.nn.utils.rnn.pad_packed_sequence(seq_t, batch_first=True, total_length=T)
    h_n = final_t[0] if kind == "lstm" else final_t
    if return_sequences:
        out_t = seq_t
    else:
        top = h_n[-D:]                                  # the top layer's final states, directions side by side
        out_t = torch.cat(list(top), dim=1)
    (out_t * torch.tensor(grad_out)).sum().backward()

    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    final = layer.final_state[0] if kind == "lstm" else layer.final_state
    np.testing.assert_allclose(final, h_n.detach().numpy(), rtol=1e-9, atol=1e-12)
    if kind == "lstm":
        np.testing.assert_allclose(layer.final_state[1], final_t[1].detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-9, atol=1e-12)
    expected = torch_grads(layer, twin)
    for param in layer.parameters():
        np.testing.assert_allclose(param.grad, expected[param.name], rtol=1e-9, atol=1e-12, err_msg=param.name)
    if initial:
        if kind == "lstm":
            for mine, theirs in zip(layer.grad_initial_state, state_t):
                np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-9, atol=1e-12)
        else:
            np.testing.assert_allclose(layer.grad_initial_state, state_t.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (1, True), (2, True)],
                         ids=["1-layer", "2-layers", "bidirectional", "2-layers-bidirectional"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
def test_equals_pytorch(kind, num_layers, bidirectional, return_sequences, rng):
    compare(kind, rng, num_layers=num_layers, bidirectional=bidirectional, return_sequences=return_sequences)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
def test_equals_pytorch_from_an_initial_state(kind, bidirectional, rng):
    compare(kind, rng, num_layers=2, bidirectional=bidirectional, initial=True)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["sequences", "last"])
def test_padded_sequences_equal_pytorchs_packed_sequences(kind, bidirectional, return_sequences, rng):
    """Rows of lengths 5, 2 and 3, padded with zeros: padding changes neither the state nor any gradient."""
    compare(kind, rng, num_layers=2, bidirectional=bidirectional, return_sequences=return_sequences,
            lengths=[5, 2, 3], initial=True)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("N", [1, 3])
def test_gradient_check_in_float64(kind, N, rng):
    dp_class, _, options = KINDS[kind]
    model = dp.Sequential([dp_class(3, 4, bidirectional=True, num_layers=2, **options), dp.Dense(8, 2)], seed=2,
                          dtype="float64")
    X = rng.normal(size=(N, 5, 3))
    report = dp.gradcheck(model, X, rng.integers(0, 2, size=N), loss=dp.CrossEntropy())
    assert report.worst < 1e-6, report.table()


def test_initialisation_is_pytorchs_uniform_bound_and_bad_input_is_refused():
    layer = dp.LSTM(3, 16)
    dp.Sequential([layer], seed=0)
    values = np.concatenate([p.value.ravel() for p in layer.parameters()])
    assert np.abs(values).max() <= 1 / 4 and np.abs(values).max() > 0.24
    assert [p.name for p in layer.parameters()][:4] == ["0.W_ih_l0", "0.W_hh_l0", "0.b_ih_l0", "0.b_hh_l0"]
    with pytest.raises(ValueError, match=r"expects input of shape \(n_samples, time steps, 3\)"):
        layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="nonlinearity"):
        dp.RNN(3, 4, nonlinearity="sigmoid")
    layer.initial_state = np.zeros((1, 2, 16))
    with pytest.raises(ValueError, match=r"initial_state must be \(h0, c0\)"):
        layer.forward(np.zeros((2, 4, 3)))


def truncated_reference(kind, layer, x, k, grad_out):
    """PyTorch with the state detached every k steps: chunk by chunk, h = h.detach() between chunks."""
    _, torch_class, options = KINDS[kind]
    twin = torch_twin(layer, torch_class, options)
    x_t = torch.tensor(x, requires_grad=True)
    state, outputs = None, []
    for start in range(0, x.shape[1], k):
        out, state = twin(x_t[:, start:start + k], state)
        outputs.append(out)
        state = tuple(s.detach() for s in state) if kind == "lstm" else state.detach()
    (torch.cat(outputs, dim=1) * torch.tensor(grad_out)).sum().backward()
    return x_t.grad.numpy(), torch_grads(layer, twin)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("num_layers", [1, 2])
def test_truncated_bptt_equals_pytorch_with_the_state_detached_every_k_steps(kind, num_layers, rng):
    dp_class, _, options = KINDS[kind]
    layer = dp_class(3, 4, num_layers=num_layers, return_sequences=True, bptt_steps=3, **options)
    model = dp.Sequential([layer], seed=3, dtype="float64")
    x = rng.normal(size=(2, 8, 3))
    grad_out = rng.normal(size=(2, 8, 4))
    model.forward(x, training=True)
    dx = model.backward(grad_out)
    expected_dx, expected = truncated_reference(kind, layer, x, 3, grad_out)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-9, atol=1e-12)
    for param in layer.parameters():
        np.testing.assert_allclose(param.grad, expected[param.name], rtol=1e-9, atol=1e-12, err_msg=param.name)


@pytest.mark.parametrize("kind", list(KINDS))
def test_truncation_at_k_steps_or_more_is_full_bptt_bit_for_bit(kind, rng):
    dp_class, _, options = KINDS[kind]
    x = rng.normal(size=(3, 6, 2))
    y = rng.integers(0, 2, size=3)
    results = []
    for tbptt in (None, 6, 50):
        model = dp.Sequential([dp_class(2, 4, bidirectional=True, num_layers=2, **options), dp.Dense(8, 2)], seed=4,
                              dtype="float64")
        model.fit(x, y, loss="cross_entropy", optimizer=dp.SGD(0.1), epochs=2, batch_size=3, verbose=0, tbptt=tbptt)
        results.append(model.parameters().values.copy())
        assert model.layers[0].bptt_steps is None           # fit puts the layer's own setting back
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
    truncated = dp.Sequential([dp_class(2, 4, **options), dp.Dense(4, 2)], seed=4, dtype="float64")
    truncated.fit(x, y, loss="cross_entropy", optimizer=dp.SGD(0.1), epochs=1, batch_size=3, verbose=0, tbptt=2)
    with pytest.raises(ValueError, match="recurrent layers"):
        dp.mlp([2, 2], seed=0).fit(np.ones((2, 2)), [0, 1], loss="cross_entropy", optimizer="sgd", epochs=1,
                                   verbose=0, tbptt=3)


def test_steps_show_every_state_gate_and_delta_through_time(rng):
    """δ of an RNN follows BPTT's formula: δₜ₋₁ = (δₜ ⊙ (1 − hₜ²))·W_hhᵀ, starting from ∂L/∂h_T at the last step."""
    layer = dp.RNN(3, 4)
    model = dp.Sequential([layer], seed=0, dtype="float64")
    x = rng.normal(size=(2, 6, 3))
    model.forward(x, training=True)
    grad = rng.normal(size=(2, 4))
    model.backward(grad)
    (trace,) = layer.steps()
    assert trace.h.shape == trace.delta.shape == (2, 6, 4) and trace.gates == {}
    W_hh = layer.parameters()[1].value
    np.testing.assert_allclose(trace.delta[:, -1], grad)
    for t in range(5, 0, -1):
        expected = (trace.delta[:, t] * (1 - trace.h[:, t] ** 2)) @ W_hh.T
        np.testing.assert_allclose(trace.delta[:, t - 1], expected, rtol=1e-12)
    np.testing.assert_allclose(layer.delta_norms_through_time(), np.linalg.norm(trace.delta, axis=(0, 2)))
    lstm = dp.LSTM(3, 4, bidirectional=True)
    dp.Sequential([lstm], seed=0, dtype="float64").forward(x)
    traces = lstm.steps()
    assert [(t.layer, t.direction) for t in traces] == [(0, 0), (0, 1)]
    assert sorted(traces[0].gates) == ["f", "g", "i", "o"] and traces[0].gates["f"].shape == (2, 6, 4)
    assert traces[0].delta is None


def test_the_monitor_records_delta_per_time_step_and_diagnose_judges_it(rng):
    X = rng.normal(size=(64, 12, 2))
    y = rng.integers(0, 2, size=64)
    model = dp.Sequential([dp.RNN(2, 8), dp.Dense(8, 2)], seed=0)
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=1, batch_size=32, verbose=0, monitor=1)
    steps = [key for key in history.diagnostics if key.startswith("0.delta_step")]
    assert len(steps) == 12 and len(history.diagnostics["0.delta_step0"]) == 2
    exploding = dp.Sequential([dp.RNN(2, 8, nonlinearity="relu"), dp.Dense(8, 2)], seed=0, dtype="float64")
    exploding.layers[0].parameters()[1].value = 2.0 * np.eye(8)        # δ doubles at every step back
    exploding.layers[0].parameters()[0].value = np.abs(exploding.layers[0].parameters()[0].value)
    findings = dp.diagnose(exploding, np.abs(X), y, "cross_entropy")
    found = [f for f in findings if f.layer == 0]
    assert [f.kind for f in found] == ["exploding_through_time"] and "clip" in found[0].advice


def test_orthogonal_recurrent_weights(rng):
    layer = dp.GRU(3, 5, recurrent_init="orthogonal")
    dp.Sequential([layer], seed=0)
    W_hh = layer.parameters()[1].value.astype(np.float64)
    for gate in range(3):
        block = W_hh[:, gate * 5:(gate + 1) * 5]
        np.testing.assert_allclose(block.T @ block, np.eye(5), atol=1e-6)
    assert layer.config()["recurrent_init"] == "orthogonal"
    with pytest.raises(ValueError, match="recurrent_init"):
        dp.LSTM(3, 4, recurrent_init="identity")


def test_model_files_pickle_and_backups_keep_recurrent_layers(rng, tmp_path):
    import pickle

    model = dp.Sequential([dp.LSTM(2, 5, bidirectional=True, mask_value=0.0, bptt_steps=4), dp.Dense(10, 3)],
                          seed=0)
    X = rng.normal(size=(40, 7, 2)).astype(np.float32)
    X[:5, 4:] = 0.0
    y = rng.integers(0, 3, size=40)
    model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=2, verbose=0)
    expected = model.predict(X)
    dp.save(model, tmp_path / "m.safetensors")
    for copy in (dp.load(tmp_path / "m.safetensors"), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(copy.predict(X), expected)
        assert copy.layers[0].config() == model.layers[0].config()

    def run(folder, fail):
        fresh = dp.Sequential([dp.GRU(2, 4), dp.Dense(4, 3)], seed=1)
        fresh.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=3, verbose=0, seed=0,
                  callbacks=[FailAt(fail), dp.BackupAndRestore(folder)])
        return fresh.parameters().values.copy()

    with pytest.raises(RuntimeError):
        run(tmp_path / "b", 1)
    np.testing.assert_array_equal(run(tmp_path / "b", -1), run(tmp_path / "c", -1))


def test_inspect_gives_a_recurrent_layers_steps_beside_the_dense_layers(rng):
    model = dp.Sequential([dp.LSTM(3, 4), dp.Dense(4, 2)], seed=0, dtype="float64")
    loss = dp.CrossEntropy()
    loss.forward(model.forward(rng.normal(size=(5, 6, 3)), training=True), rng.integers(0, 2, size=5))
    model.backward(loss.backward())
    recurrent, dense = model.inspect()
    assert recurrent.layer == 0 and dense.layer == 1 and dense.steps is None
    (trace,) = recurrent.steps
    assert trace.delta.shape == (5, 6, 4)
    assert sorted(recurrent.grads) == ["W_hh_l0", "W_ih_l0", "b_hh_l0", "b_ih_l0"]
    np.testing.assert_array_equal(trace.delta[:, -1], recurrent.delta)     # δ of the last step is ∂L/∂output
