"""Preprocessing learned on the training split and saved in the model file.

Features: each text column is one-hot encoded (its categories sorted), numeric columns are
kept, then every encoded column is standardized, x' = (x − mean) / std, with the mean and
std of the training split (std 0 is replaced by 1). Targets: class labels become indices
into ``class_names`` (the sorted distinct labels, kept as strings); regression targets are
standardized the same way and predictions mapped back, y = y'·std + mean.

Everything is plain lists and floats, so it goes into the model file's JSON header as is.
"""
from __future__ import annotations

import numpy as np

MAX_CLASSES_FOR_AUTO = 50
CSV_LINE_OF_ROW = 2  # messages give CSV line numbers: line 1 is the header


def _is_text(column) -> bool:
    return column.dtype.kind not in "biuf"


def infer_task(target) -> str:
    """Classification for text, booleans or at most 50 distinct integer values; regression otherwise."""
    if _is_text(target):
        return "classification"
    values = target.to_numpy(dtype=np.float64)
    if np.all(values == np.round(values)) and len(np.unique(values)) <= MAX_CLASSES_FOR_AUTO:
        return "classification"
    return "regression"


def _label_strings(target) -> list:
    """Labels as strings; integer-valued numbers print without a trailing '.0'."""
    if _is_text(target):
        return [str(v) for v in target]
    values = target.to_numpy(dtype=np.float64)
    if np.all(values == np.round(values)):
        return [str(int(v)) for v in values]
    return [repr(float(v)) for v in values]


class Preprocessor:
    """Turns raw feature tables into the model's input matrix, and targets into labels.

    Build one with :meth:`fit` on the training split; ``transform`` applies it to any table
    with the same columns; ``to_config``/``from_config`` carry it through the model file.
    """

    def __init__(self, *, task, feature_columns, categories, mean, std, target_name=None, class_names=None,
                 target_mean=0.0, target_std=1.0, source=""):
        self.task = task
        self.feature_columns = list(feature_columns)
        self.categories = {name: list(values) for name, values in categories.items()}
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.target_name = target_name
        self.class_names = None if class_names is None else list(class_names)
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)
        self.source = source

    # --------------------------------------------------------------- learning
    @classmethod
    def fit(cls, features, target, task: str = "auto", source: str = "") -> "Preprocessor":
        """Learn encodings and statistics from the training rows (a DataFrame and a Series)."""
        if task == "auto":
            task = infer_task(target)
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}")
        categories = {str(name): sorted({str(v) for v in features[name]})
                      for name in features.columns if _is_text(features[name])}
        self = cls(task=task, feature_columns=[str(c) for c in features.columns], categories=categories,
                   mean=[], std=[], target_name=None if target.name is None else str(target.name), source=source)
        encoded = self._encode(features, source)
        self.mean = encoded.mean(axis=0)
        std = encoded.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        if task == "classification":
            labels = _label_strings(target)
            distinct = set(labels)
            if len(distinct) < 2:
                raise ValueError(f"{source or 'data'}: target column {self.target_name!r} has a single class "
                                 f"{labels[0]!r}; classification needs at least two")
            if _is_text(target):
                self.class_names = sorted(distinct)
            else:
                self.class_names = sorted(distinct, key=float)
        else:
            if _is_text(target):
                raise ValueError(f"{source or 'data'}: target column {self.target_name!r} holds text; "
                                 "regression needs numbers (use --task classification for labels)")
            values = target.to_numpy(dtype=np.float64)
            self.target_mean = float(values.mean())
            self.target_std = float(values.std()) or 1.0
        return self

    # ------------------------------------------------------------- applying
    @property
    def n_inputs(self) -> int:
        return len(self.mean)

    @property
    def n_outputs(self) -> int:
        return len(self.class_names) if self.task == "classification" else 1

    def _encode(self, features, source: str) -> np.ndarray:
        blocks = []
        for name in self.feature_columns:
            column = features[name]
            if name in self.categories:
                known = self.categories[name]
                text = column.astype(str).to_numpy()
                index = {category: i for i, category in enumerate(known)}
                codes = np.array([index.get(v, -1) for v in text])
                if (codes < 0).any():
                    row = int(np.argmax(codes < 0))
                    raise ValueError(f"{source or 'data'}: line {row + CSV_LINE_OF_ROW}, column {name!r}: "
                                     f"category {text[row]!r} was not seen in training "
                                     f"(known: {', '.join(known)})")
                blocks.append(np.eye(len(known))[codes])
            else:
                if _is_text(column):
                    raise ValueError(f"{source or 'data'}: column {name!r} holds text but the model was trained "
                                     "on numbers in it")
                blocks.append(column.to_numpy(dtype=np.float64)[:, None])
        return np.hstack(blocks) if blocks else np.empty((len(features), 0))

    def transform(self, features, source: str = "") -> np.ndarray:
        """The standardized input matrix for a table with the training columns (the target may be present)."""
        columns = [str(c) for c in features.columns]
        missing = [c for c in self.feature_columns if c not in columns]
        extra = [c for c in columns if c not in self.feature_columns and c != self.target_name]
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"missing column(s) {', '.join(map(repr, missing))}")
            if extra:
                problems.append(f"unexpected column(s) {', '.join(map(repr, extra))}")
            raise ValueError(f"{source or 'data'}: columns do not match the model's: {'; '.join(problems)} "
                             f"(the model expects {', '.join(self.feature_columns)})")
        features = features.rename(columns=str)
        return (self._encode(features, source) - self.mean) / self.std

    def encode_target(self, target, source: str = "") -> np.ndarray:
        """Class indices (classification) or standardized values (regression)."""
        if self.task == "classification":
            index = {name: i for i, name in enumerate(self.class_names)}
            labels = _label_strings(target)
            codes = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
            if (codes < 0).any():
                row = int(np.argmax(codes < 0))
                raise ValueError(f"{source or 'data'}: line {row + CSV_LINE_OF_ROW}: class {labels[row]!r} was not "
                                 f"seen in training (known: {', '.join(self.class_names)})")
            return codes
        if _is_text(target):
            raise ValueError(f"{source or 'data'}: target column {self.target_name!r} holds text; expected numbers")
        return (target.to_numpy(dtype=np.float64) - self.target_mean) / self.target_std

    def decode_output(self, output: np.ndarray) -> np.ndarray:
        """Regression: the network output back in target units, y = y'·std + mean (one column)."""
        return output[:, 0].astype(np.float64) * self.target_std + self.target_mean

    # ------------------------------------------------------------ persistence
    def to_config(self) -> dict:
        return {
            "task": self.task, "feature_columns": self.feature_columns, "categories": self.categories,
            "mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std],
            "target_name": self.target_name, "class_names": self.class_names,
            "target_mean": self.target_mean, "target_std": self.target_std,
        }

    @classmethod
    def from_config(cls, config: dict) -> "Preprocessor":
        if not isinstance(config, dict):
            raise ValueError(f"preprocessing must be an object, got {type(config).__name__}")
        allowed = {"task", "feature_columns", "categories", "mean", "std", "target_name", "class_names",
                   "target_mean", "target_std"}
        unknown = set(config) - allowed
        if unknown:
            raise ValueError(f"preprocessing has unknown field(s) {sorted(unknown)}")
        self = cls(**config)
        if self.task not in ("classification", "regression"):
            raise ValueError(f"preprocessing task must be classification or regression, got {self.task!r}")
        width = sum(len(self.categories[c]) if c in self.categories else 1 for c in self.feature_columns)
        if self.mean.shape != (width,) or self.std.shape != (width,):
            raise ValueError(f"preprocessing mean/std must have {width} values, one per encoded input")
        if not (np.isfinite(self.mean).all() and np.isfinite(self.std).all() and (self.std > 0).all()):
            raise ValueError("preprocessing mean/std must be finite, with std > 0")
        if self.task == "classification" and (not self.class_names or len(self.class_names) < 2):
            raise ValueError("preprocessing of a classifier must list at least two class_names")
        return self
