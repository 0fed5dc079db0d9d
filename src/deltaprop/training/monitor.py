"""TrainingMonitor: per-layer gradient-flow measurements every N steps, kept in the History."""
from __future__ import annotations

import numpy as np

from .._files import atomic_path, write_columns_csv
from . import measures
from .callbacks import Callback, check_state

SAMPLE_VALUES = 2000  # activation values kept per layer for the start/end histograms


class Diagnostics(dict):
    """Columns of per-step records: ``step``, ``epoch`` and ``"<layer>.<quantity>"`` → list of floats.

    Quantities, from each layer's pass record: for every layer ``mean`` and ``std`` of its output;
    for every layer with parameters ``grad_norm`` (‖∂L/∂θ‖ of its first parameter — W for a Dense
    layer), ``weight_norm`` (‖θ‖), ``update_ratio`` (‖Δθ‖/‖θ‖ of the step's update), ``delta_norm``
    and ``delta_rms`` (‖∂L/∂output‖ over the batch: δ for a Dense layer); and what the layer's family
    can suffer from, ``dead`` (ReLU family) or ``saturated`` (sigmoid, tanh), as defined in
    `deltaprop.training.measures`. ``activations`` holds a sample of each activation layer's
    outputs at the first (``"start"``) and last (``"end"``) recorded step.
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
    (gradients, δ, activations) and after the update (‖Δθ‖/‖θ‖); the steps in between cost nothing.
    Every layer is measured through its public pass record, so a user's own layer is too.
    """

    def __init__(self, every: int = 10, seed: int = 0):
        if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be a positive integer, got {every!r}")
        self.every = int(every)
        self.records = Diagnostics()
        self._rng = np.random.default_rng(seed)
        self._step = 0
        self._epoch = 0
        self._pending = None     # the row being recorded, between the backward pass and the update
        self._before = None      # θ before the update, for ‖Δθ‖
        self._buffers = {}

    def state_dict(self) -> dict:
        return {"records": dict(self.records), "layer_names": {str(k): v for k, v in self.records.layer_names.items()},
                "activations": {when: {str(k): v for k, v in samples.items()}
                                for when, samples in self.records.activations.items()},
                "step": self._step, "epoch": self._epoch, "rng": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, {"records": dict, "layer_names": dict, "activations": dict, "step": int, "epoch": int,
                            "rng": dict}, "TrainingMonitor")
        if not all(isinstance(values, list) for values in state["records"].values()):
            raise ValueError("TrainingMonitor records must be lists")
        probe = np.random.default_rng()
        probe.bit_generator.state = state["rng"]
        self.records.clear()
        self.records.update(state["records"])
        self.records.layer_names = {int(k): v for k, v in state["layer_names"].items()}
        self.records.activations = {when: {int(k): v for k, v in samples.items()}
                                    for when, samples in state["activations"].items()}
        self._step, self._epoch = state["step"], state["epoch"]
        self._rng.bit_generator.state = state["rng"]

    def on_train_begin(self, logs):
        model = self.run.model
        self._weighted = [i for i, layer in enumerate(model.layers) if layer.parameters()]
        self.records.layer_names = {index: layer.label for index, layer in enumerate(model.layers)}

    def on_epoch_begin(self, epoch, logs):
        self._epoch = epoch

    def _sample(self, values: np.ndarray) -> np.ndarray:
        flat = values.ravel(order="K")   # memory order: a column-major output is not copied
        if flat.size > SAMPLE_VALUES:  # a random sample (with replacement: no permutation of the whole batch)
            flat = flat[self._rng.integers(0, flat.size, SAMPLE_VALUES)]
        return flat.astype(np.float32)

    def on_backward_end(self, batch, logs):
        self._step += 1
        if (self._step - 1) % self.every:
            self._before = None
            return
        layers, row = self.run.model.layers, {"step": self._step, "epoch": self._epoch}
        for index, layer in enumerate(layers):
            row[f"{index}.mean"], row[f"{index}.std"] = measures.mean_and_std(layer.output)
            for name, value in measures.unit_measures(layer).items():
                row[f"{index}.{name}"] = value
            if layer.kind == "activation" and index not in self.records.activations["start"]:
                self.records.activations["start"][index] = self._sample(layer.output)
        for index, layer in enumerate(layers):
            through_time = layer.delta_norms_through_time()
            if through_time is not None:          # ‖δₜ‖ at every time step of a recurrent layer
                for t, value in enumerate(through_time):
                    row[f"{index}.delta_step{t}"] = float(value)
        for index in self._weighted:
            layer, delta = layers[index], layers[index].grad_output
            weight = layer.parameters()[0]
            row[f"{index}.grad_norm"] = measures.norm(weight.grad)
            row[f"{index}.delta_norm"] = measures.norm(delta) if delta is not None else float("nan")
            row[f"{index}.delta_rms"] = measures.rms(delta) if delta is not None else float("nan")
            row[f"{index}.weight_norm"] = measures.norm(weight.value)
        self._pending = row
        self._before = []
        for index in self._weighted:  # θ before the update, in a buffer kept between records
            value = layers[index].parameters()[0].value
            buffer = self._buffers.get(index)
            if buffer is None or buffer.shape != value.shape or buffer.dtype != value.dtype:
                buffer = self._buffers[index] = np.empty_like(value)
            np.copyto(buffer, value)
            self._before.append(buffer)

    def on_batch_end(self, batch, logs):
        if self._before is None:
            return
        row = self._pending
        for index, before in zip(self._weighted, self._before):
            after = self.run.model.layers[index].parameters()[0].value
            np.subtract(after, before, out=before)  # the buffer now holds Δθ
            row[f"{index}.update_ratio"] = measures.norm(before) / max(row[f"{index}.weight_norm"], 1e-30)
        for key, value in row.items():
            self.records.setdefault(key, []).append(value)
        self._before = self._pending = None

    def on_train_end(self, logs):
        layers = self.run.model.layers
        if all(layer.output is not None for layer in layers):  # the last training pass: end of training
            for index, layer in enumerate(layers):
                if layer.kind == "activation":
                    self.records.activations["end"][index] = self._sample(layer.output)
        self.run.history.diagnostics = self.records
