""""As code": the run as a Python script — the same data, network, seed and settings, for the same number of
epochs, so that running it gives the page's loss curve bit for bit."""
from __future__ import annotations

from ..datasets.toys import NAMES as TOYS
from .network import MOMENTUM

OPTIMIZER_CODE = {"sgd": "dp.SGD(lr={lr!r})", "momentum": f"dp.SGD(lr={{lr!r}}, momentum={MOMENTUM!r})",
                  "adam": "dp.Adam(lr={lr!r})", "rmsprop": "dp.RMSprop(lr={lr!r})"}


def _data_code(settings) -> str:
    s = settings
    lines = [(f"X, y, columns, classes = data.load({s.dataset!r}, points={s.points!r}, noise={s.noise!r}, "
              f"seed={s.seed!r})"),
             f"train, test = data.split(len(X), {s.train_fraction!r}, seed={s.seed!r})"]
    if s.dataset in TOYS:
        lines.append("points = X                                    # the toy's coordinates x₁, x₂")
    else:
        lines.append(f"points, _ = data.project(X, train, columns={s.columns!r})   "
                     "# two standardized columns (None: the first two principal components)")
    if s.task == "regression":
        lines.append("y = (y - y[train].mean()) / y[train].std()   # standardized targets")
    else:
        lines.append("y = y.astype(np.int64)")
    lines.append(f"inputs = {s.features!r}")
    lines.append("X_train, X_test = data.features(points[train], inputs), data.features(points[test], inputs)")
    lines.append("y_train, y_test = y[train], y[test]")
    return "\n".join(lines)


def script(settings, epochs: int) -> str:
    """The Python source of the run after ``epochs`` epochs."""
    s = settings
    init = None if s.init == "auto" else s.init
    normalization = "batchnorm" if s.batchnorm else None
    loss = "dp.CrossEntropy()" if s.task == "classification" else "dp.MSE()"
    metric = "accuracy" if s.task == "classification" else "r2"
    n_out = "len(classes)" if s.task == "classification" else "1"
    optimizer = OPTIMIZER_CODE[s.optimizer].format(lr=s.lr)
    return f'''"""A deltaprop playground run: {s.dataset}, hidden layers {s.hidden}, {s.activation}, {s.optimizer} (lr {s.lr:g}),
{epochs} epochs. Running it reproduces the page's run bit for bit: the same points, split, network, seed and settings.

    python {{this file}}              train, print the loss per epoch, save the model
    python {{this file}} history.json  also write the history (loss, val_loss, {metric}, …) as JSON
"""
import json
import sys

import numpy as np

import deltaprop as dp
from deltaprop.playground import data

# Data: the points, the train/test split and the input features the network sees
{_data_code(s)}

# Network: Dense layers with {s.activation} between them (float64, as on the page)
model = dp.mlp([X_train.shape[1], *{s.hidden!r}, {n_out}], activation={s.activation!r}, init={init!r},
               normalization={normalization!r}, dropout={s.dropout!r}, l1={s.l1!r}, l2={s.l2!r},
               seed={s.seed!r}, dtype="float64")

# Training: forward pass, loss, backward pass, update — per mini-batch of {s.batch_size}, for {epochs} epochs
EPOCHS = {epochs}
history = {{}}
if EPOCHS:
    history = dp.fit(model, X_train, y_train, loss={loss}, optimizer={optimizer}, epochs=EPOCHS,
                     batch_size={s.batch_size!r}, validation_data=(X_test, y_test), metrics=[{metric!r}],
                     seed={s.seed!r}, verbose=0)
    for epoch, (train_loss, test_loss) in enumerate(zip(history["loss"], history["val_loss"]), start=1):
        print(f"epoch {{epoch}}: train loss {{train_loss:.6f}}, test loss {{test_loss:.6f}}")
dp.save(model, "playground-model.safetensors")
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as file:
        json.dump({{key: list(values) for key, values in history.items()}}, file)
'''
