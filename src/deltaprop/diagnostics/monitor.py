"""TrainingMonitor: per-layer gradient-flow measurements every N steps, kept in the History."""
from __future__ import annotations

import numpy as np

from .._files import atomic_path, write_columns_csv

from ..training.callbacks import Callback
from . import measures

SAMPLE_VALUES = 2000  # activation values kept per layer for the start/end histograms


class Diagnostics(dict):
    """Columns of per-step records: ``step``, ``epoch`` and ``"<layer>.<quantity>"`` → list of floats.

    Quantities: for each Dense layer ``grad_norm`` (‖∂L/∂W‖), ``delta_norm`` (‖δ‖ over the
    batch), ``delta_rms``, ``weight_norm`` (‖W‖) and ``update_ratio`` (‖ΔW‖/‖W‖ of the step's
    update); for each ReLU-family/sigmoid/tanh layer ``mean`` and ``std`` of its output and
    ``dead`` or ``saturated`` (fractions of units, as defined in :mod:`deltaprop.diagnostics.measures`). ``activations`` holds a sample of each such
    layer's outputs at the first (``"start"``) and last (``"end"``) recorded step.
    """

    def __init__(self):
        super().__init__()
        self.activations = {"start": {}, "end": {}}
        self.layer_names = {}

    def to_csv(self, path) -> None:
        """One row per recorded step, one column per quantity; written atomically."""
        write_columns_csv(self, path)

    def save_activations(self, path) -> None:
        """The start/end activation samples as an NPZ (``start_<layer>``, ``end_<layer>``), atomically."""
        arrays = {f"{when}_{layer}": values for when, samples in self.activations.items()
                  for layer, values in samples.items()}
        with atomic_path(path, suffix=".npz") as temporary:
            np.savez(temporary, **arrays)


class TrainingMonitor(Callback):
    """Record gradient-flow measurements every ``every`` steps (default 10) into ``history.diagnostics``.

    Enabled by ``fit(..., monitor=True)`` (or ``monitor=N`` for every N steps) and by
    ``deltaprop train --diagnose``. Measuring happens between the backward pass and the update
    (gradients, δ, activations) and after the update (‖ΔW‖/‖W‖); the steps in between cost nothing.
    """

    def __init__(self, every: int = 10, seed: int = 0):
        if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.every = int(every)
        self.records = Diagnostics()
        self._rng = np.random.default_rng(seed)
        self._step = 0
        self._epoch = 0
        self._before = None
        self._buffers = {}

    def on_train_begin(self, logs):
        model = self.trainer.model
        self._dense = measures.dense_indices(model)
        self._activations = measures.activation_indices(model)
        self.records.layer_names = {index: model.layers[index].label for index in self._dense + self._activations}

    def on_epoch_begin(self, epoch, logs):
        self._epoch = epoch

    def _sample(self, values: np.ndarray) -> np.ndarray:
        flat = values.reshape(-1)
        if flat.size > SAMPLE_VALUES:  # a random sample (with replacement: no permutation of the whole batch)
            flat = flat[self._rng.integers(0, flat.size, SAMPLE_VALUES)]
        return flat.astype(np.float32)

    def on_backward_end(self, batch, logs):
        self._step += 1
        if (self._step - 1) % self.every:
            self._before = None
            return
        model, row = self.trainer.model, {"step": self._step, "epoch": self._epoch}
        for index in self._dense:
            layer = model.layers[index]
            delta = model._grads[index]
            row[f"{index}.grad_norm"] = measures.norm(layer.W.grad)
            row[f"{index}.delta_norm"] = measures.norm(delta) if delta is not None else float("nan")
            row[f"{index}.delta_rms"] = measures.rms(delta) if delta is not None else float("nan")
            row[f"{index}.weight_norm"] = measures.norm(layer.W.value)
        for index in self._activations:
            layer, output = model.layers[index], model._outputs[index]
            row[f"{index}.mean"], row[f"{index}.std"] = measures.mean_and_std(output)
            if isinstance(layer, measures.RELU_FAMILY):
                row[f"{index}.dead"] = measures.dead_fraction(measures.layer_input(model, index))
            else:
                row[f"{index}.saturated"] = measures.saturated_fraction(layer, output)
            if index not in self.records.activations["start"]:
                self.records.activations["start"][index] = self._sample(output)
        self._pending = row
        self._before = []
        for index in self._dense:  # W before the update, in a buffer kept between records
            value = model.layers[index].W.value
            buffer = self._buffers.get(index)
            if buffer is None or buffer.shape != value.shape or buffer.dtype != value.dtype:
                buffer = self._buffers[index] = np.empty_like(value)
            np.copyto(buffer, value)
            self._before.append(buffer)

    def on_batch_end(self, batch, logs):
        if self._before is None:
            return
        row = self._pending
        for index, before in zip(self._dense, self._before):
            after = self.trainer.model.layers[index].W.value
            weight_norm = row[f"{index}.weight_norm"]
            np.subtract(after, before, out=before)  # the buffer now holds ΔW
            row[f"{index}.update_ratio"] = measures.norm(before) / max(weight_norm, 1e-30)
        for key, value in row.items():
            self.records.setdefault(key, []).append(value)
        self._before = None

    def on_train_end(self, logs):
        model = self.trainer.model
        if model._outputs and len(model._outputs) == len(model.layers):  # the last forward pass: end of training
            for index in self._activations:
                self.records.activations["end"][index] = self._sample(model._outputs[index])
        self.trainer.history.diagnostics = self.records
