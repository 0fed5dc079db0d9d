"""Learning-rate schedules produce their documented sequences exactly, and fit records them."""
import math

import pytest

import deltaprop as dp


def sequence(schedule, epochs, base=0.1):
    return [schedule.lr(epoch, base) for epoch in range(epochs)]


def test_step_decay():
    assert sequence(dp.StepDecay(step_size=2, gamma=0.5), 6) == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


def test_exponential_decay():
    assert sequence(dp.ExponentialDecay(gamma=0.9), 4) == [0.1, 0.1 * 0.9, 0.1 * 0.81, 0.1 * 0.9 ** 3]


def test_cosine_annealing_without_and_with_restarts():
    expected = [0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * min(t, 4) / 4)) / 2 for t in range(6)]
    assert sequence(dp.CosineAnnealing(T_max=4, eta_min=0.01), 6) == pytest.approx(expected, abs=1e-15)
    # Restarts: periods of 2, then 4 (T_mult=2): t = 0,1 | 0,1,2,3 | 0
    positions = [(0, 2), (1, 2), (0, 4), (1, 4), (2, 4), (3, 4), (0, 8)]
    expected = [0.1 * (1 + math.cos(math.pi * t / T)) / 2 for t, T in positions]
    assert sequence(dp.CosineAnnealing(T_max=2, restarts=True, T_mult=2), 7) == pytest.approx(expected, abs=1e-15)


def test_linear_warmup_then_another_schedule():
    assert sequence(dp.LinearWarmup(3), 5) == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])
    combined = dp.LinearWarmup(2, after=dp.StepDecay(step_size=1, gamma=0.5))
    assert sequence(combined, 5) == pytest.approx([0.1 / 3, 0.2 / 3, 0.1, 0.05, 0.025])


def test_reduce_on_plateau():
    schedule = dp.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.0)
    losses = [1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.85, 0.86]
    lrs = []
    for epoch, value in enumerate(losses):
        lrs.append(schedule.lr(epoch, 0.1))
        schedule.observe(epoch, {"val_loss": value})
    # Bad epochs: 2 (count 1), 3 (count 2 > patience → halve), 4 (count 1), 5 improves, 6 (1), 7 (2 → halve)
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])
    assert schedule.lr(8, 0.1) == pytest.approx(0.025)


def test_reduce_on_plateau_respects_min_lr_and_names_missing_monitor():
    schedule = dp.ReduceLROnPlateau(factor=0.1, patience=0, min_lr=0.05)
    for epoch in range(4):
        schedule.observe(epoch, {"val_loss": 1.0})
    assert schedule.lr(4, 0.1) == 0.05
    with pytest.raises(ValueError, match="ReduceLROnPlateau monitors 'val_loss', which is not among the logged values"):
        dp.ReduceLROnPlateau().observe(0, {"loss": 1.0})


def test_fit_records_the_lr_of_every_epoch(rng):
    X, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))
    model = dp.mlp([3, 4, 1], seed=0)
    history = model.fit(X, y, loss="mse", optimizer=dp.SGD(lr=0.1), epochs=5,
                        schedule=dp.LinearWarmup(1, after=dp.ExponentialDecay(0.5)), verbose=0)
    assert history["lr"] == pytest.approx([0.05, 0.1, 0.05, 0.025, 0.0125])


def test_bad_schedule_arguments():
    with pytest.raises(ValueError, match="step_size must be a positive integer, got 0"):
        dp.StepDecay(0)
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\), got 1.5"):
        dp.ReduceLROnPlateau(factor=1.5)
