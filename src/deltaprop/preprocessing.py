"""Preprocessing learned on the training split and saved in the model file.

Features: each text column is one-hot encoded (its categories sorted; a category never seen in
training encodes as all zeros, scikit-learn's ``handle_unknown="ignore"``), numeric columns are
kept, then every encoded column is standardized, x' = (x − mean) / std, with the mean and std of
the training split (std 0 is replaced by 1). A text column that cannot be one-hot encoded
usefully is left out (``dropped``):

* an **identifier** — more than IDENTIFIER_SHARE = 50% of the training rows hold distinct values
  (and more than 10 of them): names, IDs, dates;
* **too many categories** — more than MAX_CATEGORIES = 100 distinct values.

Missing cells (NaN in a numeric column, ``""`` in a text one) follow a policy (`deltaprop.missing`):
by default a numeric cell takes the column's training median and a 0/1 "was missing" indicator
column follows the column, and a missing text cell is a category of its own — scikit-learn's
``SimpleImputer(strategy="median", add_indicator=True)``.

Targets: class labels become indices into ``class_names`` (the sorted distinct labels, kept as
strings); regression targets are standardized the same way and predictions mapped back,
y = y'·std + mean.

Everything is plain lists and floats, so it goes into the model file's JSON header as is.
"""
from __future__ import annotations

import numpy as np

from . import missing as missing_values
from .errors import DataError, shorten

MAX_CLASSES_FOR_AUTO = 50
MAX_CATEGORIES = 100
IDENTIFIER_SHARE = 0.5
IDENTIFIER_MIN_VALUES = 10


def _is_text(column) -> bool:
    return column.dtype.kind not in "biuf"


def _is_number(cell) -> bool:
    try:
        float(cell)
    except (TypeError, ValueError):
        return False
    return True


def _where(lines, row: int) -> str:
    return f"line {lines[row]}" if lines is not None else f"row {row}"


def infer_task(target) -> str:
    """Classification for text or booleans, or for integers with at most 50 distinct values that
    repeat (no more distinct values than half the rows); regression otherwise."""
    if _is_text(target) or target.dtype.kind == "b":
        return "classification"
    values = target.to_numpy(dtype=np.float64)
    n_distinct = len(np.unique(values))
    if np.all(values == np.round(values)) and n_distinct <= MAX_CLASSES_FOR_AUTO and n_distinct <= len(values) / 2:
        return "classification"
    return "regression"


def _as_strings(column) -> np.ndarray:
    """Cells as strings (a missing text cell as ""); integer-valued numbers print without a trailing '.0'."""
    if _is_text(column):
        values = column.to_numpy(dtype=object)
        return np.array(["" if value is None or value != value else str(value) for value in values], dtype=object)
    values = column.to_numpy(dtype=np.float64)
    if np.all(values == np.round(values)):
        return np.array([str(int(v)) for v in values], dtype=object)
    return np.array([repr(float(v)) for v in values], dtype=object)


def why_left_out(column, constant: bool = True) -> str | None:
    """Why a column is left out (with ``constant``: the same value in every row; a text column like an identifier,
    or with too many categories to one-hot encode), or None."""
    if constant and len(column) > 1 and not missing_values.mask(column).any() and column.nunique() == 1:
        value = column.iloc[0]
        return f"the same value in every training row ({getattr(value, 'item', lambda: value)()!r})"
    if not _is_text(column):
        return None
    n_rows, n_distinct = len(column), len(set(_as_strings(column)) - {missing_values.MISSING_CATEGORY})
    if n_distinct > IDENTIFIER_SHARE * n_rows and n_distinct > IDENTIFIER_MIN_VALUES:
        return f"{n_distinct} distinct values in {n_rows} rows, like an identifier"
    if n_distinct > MAX_CATEGORIES:
        return f"{n_distinct} categories, more than {MAX_CATEGORIES} to one-hot encode"
    return None


def _mean_and_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations that never overflow: computed on values divided by
    each column's largest magnitude, then scaled back (features near 1e200 stay finite)."""
    scale = np.max(np.abs(values), axis=0) if len(values) else np.ones(values.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    scaled = values / scale
    return scaled.mean(axis=0) * scale, scaled.std(axis=0) * scale


class Preprocessor:
    """Turns raw feature tables into the model's input matrix, and targets into labels.

    Build one with [`fit()`][deltaprop.preprocessing.Preprocessor.fit] on the training split; ``transform`` applies it to any table
    with the same columns; ``to_config``/``from_config`` carry it through the model file.
    """

    def __init__(self, *, task, feature_columns, categories, mean, std, target_name=None, class_names=None,
                 target_mean=0.0, target_std=1.0, dropped=None, source="", missing="auto", medians=None,
                 indicators=()):
        self.task = task
        self.feature_columns = list(feature_columns)
        self.categories = {name: list(values) for name, values in categories.items()}
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.target_name = target_name
        self.class_names = None if class_names is None else list(class_names)
        self.target_mean = float(target_mean)
        self.target_std = float(target_std)
        self.dropped = dict(dropped or {})   # column name → why it is left out
        self.source = source
        self.missing = missing                # the policy for missing cells (see deltaprop.missing)
        self.medians = {name: float(value) for name, value in (medians or {}).items()}   # numeric column → median
        self.indicators = list(indicators)    # numeric columns followed by a 0/1 "was missing" input
        self.notes = []                       # what fit found and did (missing cells imputed …), for the user

    # --------------------------------------------------------------- learning
    @classmethod
    def fit(cls, features, target, task: str = "auto", source: str = "", *, drop=(), keep=(),
            lines=None, missing: str = "auto", drop_constant: bool = True) -> "Preprocessor":
        """Learn encodings and statistics from the training rows (a DataFrame and a Series).

        ``drop`` names columns to leave out; ``keep`` names text columns to one-hot encode even
        when they look like identifiers. ``lines`` gives each row's line in the file, for messages.
        ``missing`` is the policy for missing cells: "auto", "impute", "drop" or "refuse" (see
        `deltaprop.missing`); what was imputed is said in ``notes``. ``drop_constant`` leaves out columns
        that hold one value in every training row (not for images, whose pixels keep their places).
        """
        if task == "auto":
            task = infer_task(target)
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}")
        columns = [str(c) for c in features.columns]
        features = features.rename(columns=str)
        for name in [*drop, *keep]:
            if name not in columns:
                raise DataError(f"{source or 'data'}: no feature column {name!r} to drop or keep; feature columns "
                                f"are: {shorten(columns, 12)}")
        dropped = {name: "--drop" for name in drop}
        for name in columns:
            reason = None if name in keep or name in dropped else why_left_out(features[name], drop_constant)
            if reason:
                dropped[name] = reason
        kept = [name for name in columns if name not in dropped]
        if not kept:
            raise DataError(f"{source or 'data'}: no feature column left to train on (left out: "
                            f"{shorten(dropped)}; use --keep to one-hot encode one)")
        found = missing_values.count(features, kept)
        missing_values.check_policy(found, len(features), missing, source, lines)
        numeric = [name for name in kept if not _is_text(features[name])]
        categories = {name: sorted(set(_as_strings(features[name]))) for name in kept if _is_text(features[name])}
        self = cls(task=task, feature_columns=kept, categories=categories, mean=[], std=[],
                   target_name=None if target.name is None else str(target.name), dropped=dropped, source=source,
                   missing=missing, medians=missing_values.medians(features, numeric),
                   indicators=[name for name in numeric if name in found])
        if found:
            self.notes.append(f"the training rows have {missing_values.describe(found, len(features), lines)}; "
                              "imputed: numbers with their column's training median and a 0/1 'missing' input, text "
                              "as a category of its own")
        encoded = self._encode(features, source, lines)
        self.mean, std = _mean_and_std(encoded)
        self.std = np.where(std > 0, std, 1.0)
        self.learn_target(target, source)
        return self

    def learn_target(self, target, source: str = "") -> None:
        """The class names (classification) or the target's mean and std (regression), from the training rows."""
        if self.task == "classification":
            labels = _as_strings(target)
            distinct = set(labels)
            if len(distinct) < 2:
                raise DataError(f"{source or 'data'}: target column {self.target_name!r} has a single class "
                                f"{labels[0]!r}; classification needs at least two")
            self.class_names = sorted(distinct) if _is_text(target) else sorted(distinct, key=float)
        else:
            if _is_text(target):
                raise DataError(f"{source or 'data'}: target column {self.target_name!r} holds text; "
                                "regression needs numbers (use --task classification for labels)")
            mean, std = _mean_and_std(target.to_numpy(dtype=np.float64)[:, None])
            self.target_mean = float(mean[0])
            self.target_std = float(std[0]) or 1.0

    # ------------------------------------------------------------- applying
    @property
    def n_inputs(self) -> int:
        return len(self.mean)

    def input_names(self) -> list:
        """The name of each input of the network, in order: ``colour=red``, ``weight``, ``weight (missing)``."""
        names = []
        for column in self.feature_columns:
            if column in self.categories:
                names += [f"{column}={category or '(missing)'}" for category in self.categories[column]]
            else:
                names += [column] + ([f"{column} (missing)"] if column in self.indicators else [])
        return names

    def missing_cells(self, features) -> dict:
        """``{column: row positions}`` of the missing cells of ``features`` in the columns the model uses."""
        return missing_values.count(features.rename(columns=str), self.feature_columns)

    @property
    def n_outputs(self) -> int:
        return len(self.class_names) if self.task == "classification" else 1

    def _encode(self, features, source: str, lines) -> np.ndarray:
        blocks = []
        for name in self.feature_columns:
            column = features[name]
            if name in self.categories:
                index = {category: i for i, category in enumerate(self.categories[name])}
                codes = np.array([index.get(v, -1) for v in _as_strings(column)], dtype=np.int64)
                one_hot = np.zeros((len(column), len(index)))
                known = codes >= 0
                one_hot[np.flatnonzero(known), codes[known]] = 1.0   # an unseen category stays all zeros
                blocks.append(one_hot)
            else:
                if _is_text(column):
                    row = int(np.argmax([not _is_number(cell) and cell != "" for cell in column]))
                    raise DataError(f"{source or 'data'}: {_where(lines, row)}, column {name!r}: "
                                    f"{column.iloc[row]!r} is not a number (the model was trained on numbers in "
                                    "this column)")
                values = column.to_numpy(dtype=np.float64)
                if name in self.medians:
                    values, was_missing = missing_values.fill(values, self.medians[name])
                elif np.isnan(values).any():     # a model file written before missing values were imputed
                    raise DataError(f"{source or 'data'}: {_where(lines, int(np.argmax(np.isnan(values))))}, column "
                                    f"{name!r}: a missing value, which this model cannot fill in")
                blocks.append(values[:, None])
                if name in self.indicators:
                    blocks.append(was_missing[:, None])
        return np.hstack(blocks) if blocks else np.empty((len(features), 0))

    def check_columns(self, features, source: str = "") -> list:
        """The table must hold every feature column the model uses; returns the columns it does not know (not
        features, not left out, not the target: an ID column), which are not used."""
        columns = [str(c) for c in features.columns]
        absent = [c for c in self.feature_columns if c not in columns]
        if absent:
            raise DataError(f"{source or 'data'}: missing column(s) {shorten(absent)} (the model expects "
                            f"{shorten(self.feature_columns, 8)})")
        known = set(self.feature_columns) | set(self.dropped) | {self.target_name}
        return [c for c in columns if c not in known]

    def transform(self, features, source: str = "", lines=None) -> np.ndarray:
        """The standardized input matrix for a table with the training columns (the target and
        left-out columns may be present). Unseen categories encode as zeros (see [`unseen()`][deltaprop.preprocessing.Preprocessor.unseen])."""
        self.check_columns(features, source)
        features = features.rename(columns=str)
        return (self._encode(features, source, lines) - self.mean) / self.std

    def unseen(self, features) -> dict:
        """``{column: {category: count}}`` of the categories in ``features`` that training never saw."""
        found = {}
        features = features.rename(columns=str)
        for name, known in self.categories.items():
            values, counts = np.unique(_as_strings(features[name]), return_counts=True)
            new = {str(v): int(c) for v, c in zip(values, counts) if v not in set(known)}
            if new:
                found[name] = new
        return found

    def encode_target(self, target, source: str = "", lines=None) -> np.ndarray:
        """Class indices (classification) or standardized values (regression)."""
        if self.task == "classification":
            index = {name: i for i, name in enumerate(self.class_names)}
            labels = _as_strings(target)
            codes = np.array([index.get(label, -1) for label in labels], dtype=np.int64)
            if (codes < 0).any():
                row = int(np.argmax(codes < 0))
                raise DataError(f"{source or 'data'}: {_where(lines, row)}: class {labels[row]!r} was not seen in "
                                f"training (known: {shorten(self.class_names)})")
            return codes
        if _is_text(target):
            raise DataError(f"{source or 'data'}: target column {self.target_name!r} holds text; expected numbers")
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
            "target_mean": self.target_mean, "target_std": self.target_std, "dropped": self.dropped,
            "missing": self.missing, "medians": self.medians, "indicators": self.indicators,
        }

    @classmethod
    def from_config(cls, config: dict) -> "Preprocessor":
        """Rebuild from `to_config()`'s dict, checking the type of every field (``ValueError``)."""
        if not isinstance(config, dict):
            raise ValueError(f"preprocessing must be an object, got {type(config).__name__}")
        fields = {"task": str, "feature_columns": list, "categories": dict, "mean": list, "std": list,
                  "target_name": (str, type(None)), "class_names": (list, type(None)), "target_mean": (int, float),
                  "target_std": (int, float), "dropped": dict, "missing": str, "medians": dict, "indicators": list}
        unknown = set(config) - set(fields)
        if unknown:
            raise ValueError(f"preprocessing has unknown field(s) {sorted(unknown)}")
        for name, types in fields.items():
            if name in config and not isinstance(config[name], types) or isinstance(config.get(name), bool):
                raise ValueError(f"preprocessing field {name!r} has the wrong type ({type(config[name]).__name__})")
        if not all(isinstance(c, str) for c in config.get("feature_columns", [])):
            raise ValueError("preprocessing feature_columns must be strings")
        for name, values in config.get("categories", {}).items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"preprocessing categories of {name!r} must be a list of strings")
            if name not in config.get("feature_columns", []):
                raise ValueError(f"preprocessing categories name {name!r}, which is not a feature column")
        if config.get("class_names") is not None and not all(isinstance(c, str) for c in config["class_names"]):
            raise ValueError("preprocessing class_names must be strings")
        try:
            self = cls(**config)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"preprocessing: {exc}") from None
        if self.task not in ("classification", "regression"):
            raise ValueError(f"preprocessing task must be classification or regression, got {self.task!r}")
        numeric = [c for c in self.feature_columns if c not in self.categories]
        if self.missing not in missing_values.POLICIES:
            raise ValueError(f"preprocessing missing must be one of {', '.join(missing_values.POLICIES)}")
        if not set(self.medians) <= set(numeric) or not all(np.isfinite(v) for v in self.medians.values()):
            raise ValueError("preprocessing medians must be finite numbers of numeric feature columns")
        if not set(self.indicators) <= set(self.medians) or len(set(self.indicators)) != len(self.indicators):
            raise ValueError("preprocessing indicators must name numeric feature columns with a median, once each")
        width = sum(len(self.categories[c]) if c in self.categories else 1 + (c in self.indicators)
                    for c in self.feature_columns)
        if self.mean.shape != (width,) or self.std.shape != (width,):
            raise ValueError(f"preprocessing mean/std must have {width} values, one per encoded input")
        tiny = np.finfo(np.float64).tiny    # a subnormal scale (1e-320) turns every input into ±inf
        if not (np.isfinite(self.mean).all() and np.isfinite(self.std).all() and (self.std >= tiny).all()):
            raise ValueError("preprocessing mean/std must be finite, with every std a normal number > 0")
        if not (np.isfinite(self.target_mean) and np.isfinite(self.target_std) and self.target_std >= tiny):
            raise ValueError("preprocessing target_mean/target_std must be finite, with target_std a normal number > 0")
        if len(set(self.feature_columns)) != len(self.feature_columns):
            raise ValueError("preprocessing feature_columns name a column twice")
        for name, values in self.categories.items():
            if len(set(values)) != len(values):
                raise ValueError(f"preprocessing categories of {name!r} list a category twice")
        if self.task == "classification":
            if not self.class_names or len(self.class_names) < 2:
                raise ValueError("preprocessing of a classifier must list at least two class_names")
            if len(set(self.class_names)) != len(self.class_names):
                raise ValueError("preprocessing class_names list a class twice")
        elif self.class_names is not None:
            raise ValueError("preprocessing of a regression has no class_names")
        return self
