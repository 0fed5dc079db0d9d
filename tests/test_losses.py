"""Losses: values from the PyTorch definitions written out here, gradients, stability, errors."""
import math

import numpy as np
import pytest

import deltaprop as dp

PRED = np.array([[0.5, -1.0], [2.0, 0.25], [-3.0, 1.5]])
TARGET = np.array([[0.0, -1.5], [1.0, 0.25], [0.5, -1.0]])


def test_mse_value_and_gradient():
    loss = dp.MSE()
    diffs = [0.5, 0.5, 1.0, 0.0, -3.5, 2.5]
    assert loss.forward(PRED, TARGET) == pytest.approx(sum(d * d for d in diffs) / 6, rel=1e-15)
    np.testing.assert_allclose(loss.backward(), 2 * (PRED - TARGET) / 6)


def test_mae_value_and_gradient():
    loss = dp.MAE()
    assert loss.forward(PRED, TARGET) == pytest.approx((0.5 + 0.5 + 1.0 + 0.0 + 3.5 + 2.5) / 6)
    np.testing.assert_allclose(loss.backward(), np.array([[1, 1], [1, 0], [-1, 1]]) / 6)


def test_huber_value_and_gradient():
    delta = 1.0
    residuals = [0.5, 0.5, 1.0, 0.0, -3.5, 2.5]
    values = [0.5 * r * r if abs(r) <= delta else delta * (abs(r) - 0.5 * delta) for r in residuals]
    loss = dp.Huber(delta)
    assert loss.forward(PRED, TARGET) == pytest.approx(sum(values) / 6)
    np.testing.assert_allclose(loss.backward().ravel(), [0.5 / 6, 0.5 / 6, 1 / 6, 0, -1 / 6, 1 / 6])


def test_binary_cross_entropy_on_logits():
    logits = np.array([[0.3], [-2.0], [4.0]])
    y = np.array([1.0, 0.0, 0.0])
    sigma = [1 / (1 + math.exp(-v)) for v in logits.ravel()]
    expected = -sum(t * math.log(s) + (1 - t) * math.log(1 - s) for t, s in zip(y, sigma)) / 3
    loss = dp.BinaryCrossEntropy()
    assert loss.forward(logits, y) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(loss.backward().ravel(), (np.array(sigma) - y) / 3, rtol=1e-14)


def test_cross_entropy_with_labels_and_with_probabilities():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    labels = np.array([0, 2])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -(math.log(p[0, 0]) + math.log(p[1, 2])) / 2
    loss = dp.CrossEntropy()
    assert loss.forward(logits, labels) == pytest.approx(expected, rel=1e-14)
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(loss.backward(), (p - onehot) / 2, rtol=1e-13)
    assert loss.forward(logits, onehot) == pytest.approx(expected, rel=1e-14)
    soft = np.array([[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]])
    expected_soft = -(soft * np.log(p)).sum() / 2
    assert loss.forward(logits, soft) == pytest.approx(expected_soft, rel=1e-14)


def test_cross_entropy_label_smoothing_matches_the_definition():
    logits = np.array([[2.0, 1.0, 0.1]])
    p = np.exp(logits[0]) / np.exp(logits[0]).sum()
    eps = 0.1
    smoothed = (1 - eps) * np.array([0, 1, 0]) + eps / 3
    assert dp.CrossEntropy(label_smoothing=eps).forward(logits, [1]) == pytest.approx(-(smoothed * np.log(p)).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_are_finite_and_correct_at_extreme_logits(dtype):
    logits = np.array([[1e4], [-1e4]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        bce = dp.BinaryCrossEntropy()
        # Right class with margin 1e4: loss e^(-1e4) ≈ 0; wrong class: loss 1e4.
        assert bce.forward(logits, [1.0, 1.0]) == pytest.approx(1e4 / 2)
        np.testing.assert_allclose(bce.backward().ravel(), [0.0, -0.5])
        assert bce.forward(logits, [1.0, 0.0]) == 0.0
        ce = dp.CrossEntropy()
        z = np.array([[1e4, -1e4, 0.0]], dtype=dtype)
        assert ce.forward(z, [1]) == pytest.approx(2e4)
        np.testing.assert_allclose(ce.backward(), [[1.0, -1.0, 0.0]])
        assert ce.forward(z, [0]) == 0.0
        assert ce.backward().dtype == dtype


@pytest.mark.parametrize("loss,target", [
    (dp.MSE(), "values"), (dp.MAE(), "values"), (dp.Huber(0.7), "values"), (dp.BinaryCrossEntropy(), "probs"),
    (dp.CrossEntropy(), "labels"), (dp.CrossEntropy(), "rows"), (dp.CrossEntropy(label_smoothing=0.2), "labels"),
])
@pytest.mark.parametrize("shape", [(1, 3), (5, 3), (8, 4)])
def test_loss_gradients(loss, target, shape, rng):
    pred = rng.normal(0, 2, size=shape)
    if target == "labels":
        y = rng.integers(0, shape[1], size=shape[0])
    elif target == "rows":
        y = rng.dirichlet(np.ones(shape[1]), size=shape[0])
    elif target == "probs":
        y = rng.uniform(size=shape)
    else:
        y = pred + rng.choice([-1, 1], size=shape) * rng.uniform(0.1, 2, size=shape)  # away from MAE/Huber kinks
    assert dp.gradcheck(loss, pred, y).worst <= 1e-6


def test_regression_loss_accepts_a_1d_target_for_one_output():
    loss = dp.MSE()
    assert loss.forward(np.array([[1.0], [3.0]]), np.array([0.0, 1.0])) == pytest.approx((1 + 4) / 2)
    assert loss.backward().shape == (2, 1)


def test_loss_gradient_keeps_float32():
    pred = np.ones((4, 3), dtype=np.float32)
    for loss, y in [(dp.MSE(), np.zeros((4, 3))), (dp.CrossEntropy(), np.array([0, 1, 2, 0])),
                    (dp.BinaryCrossEntropy(), np.ones((4, 3))), (dp.Huber(), np.zeros((4, 3))), (dp.MAE(), np.zeros((4, 3)))]:
        loss.forward(pred, y)
        assert loss.backward().dtype == np.float32, type(loss).__name__


# ------------------------------------------------------------------ bad input
def test_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"MSE: pred and target shapes differ: pred \(3, 2\), target \(3, 3\)"):
        dp.MSE().forward(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"CrossEntropy: pred has 3 rows but target has 2 labels"):
        dp.CrossEntropy().forward(np.zeros((3, 2)), [0, 1])


@pytest.mark.parametrize("labels,message", [
    ([0, 3], r"class label 3 is out of range for 3 classes \(labels must be in \[0, 2\]\)"),
    ([-1, 0], r"class label -1 is out of range"),
    ([0.5, 1.0], r"class labels must be integers, got 0.5"),
    (["a", "b"], r"class labels must be integers, got dtype"),
])
def test_cross_entropy_bad_labels(labels, message):
    with pytest.raises((ValueError, TypeError), match=message):
        dp.CrossEntropy().forward(np.zeros((2, 3)), np.array(labels))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_targets_and_predictions(bad):
    with pytest.raises(ValueError, match=r"MSE: target contains NaN or infinity \(first at index \[1, 0\]"):
        dp.MSE().forward(np.zeros((2, 1)), np.array([[0.0], [bad]]))
    with np.errstate(invalid="ignore"):  # a diverged network: the loss is non-finite, not an error
        assert not np.isfinite(dp.CrossEntropy().forward(np.array([[0.0, bad]]), [0]))
    with pytest.raises(ValueError, match="CrossEntropy: class labels must be integers|NaN"):
        dp.CrossEntropy().forward(np.zeros((1, 2)), np.array([bad]))


def test_bce_target_out_of_range_and_bad_hyperparameters():
    with pytest.raises(ValueError, match=r"target values must lie in \[0, 1\], got range \[0.0, 2.0\]"):
        dp.BinaryCrossEntropy().forward(np.zeros((2, 1)), [0.0, 2.0])
    with pytest.raises(ValueError, match=r"delta must be in \(0, inf\], got -1.0"):
        dp.Huber(delta=-1)
    with pytest.raises(ValueError, match="one output use BinaryCrossEntropy"):
        dp.CrossEntropy().forward(np.zeros((2, 1)), [0, 1])


def test_loss_by_name():
    assert isinstance(dp.losses.get("cross_entropy"), dp.CrossEntropy)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        dp.losses.get("hinge")


def test_values_equal_pytorch_when_available(rng):
    torch = pytest.importorskip("torch")
    pred, target = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    probs = rng.uniform(size=(6, 4))
    t = torch.from_numpy
    cases = [
        (dp.MSE(), target, torch.nn.MSELoss()(t(pred), t(target))),
        (dp.MAE(), target, torch.nn.L1Loss()(t(pred), t(target))),
        (dp.Huber(0.8), target, torch.nn.HuberLoss(delta=0.8)(t(pred), t(target))),
        (dp.BinaryCrossEntropy(), probs, torch.nn.BCEWithLogitsLoss()(t(pred), t(probs))),
        (dp.CrossEntropy(), labels, torch.nn.CrossEntropyLoss()(t(pred), t(labels))),
        (dp.CrossEntropy(label_smoothing=0.1), labels, torch.nn.CrossEntropyLoss(label_smoothing=0.1)(t(pred), t(labels))),
    ]
    for loss, y, expected in cases:
        assert loss.forward(pred, y) == pytest.approx(float(expected), rel=1e-12), type(loss).__name__
