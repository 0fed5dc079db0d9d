"""Table: the raw features and target of a dataset, before any preprocessing."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import DataError  # noqa: F401 - re-exported: datasets.DataError


@dataclass
class Table:
    """Raw features (a DataFrame, one column per feature) and the target (a Series).

    ``task`` is "classification", "regression" or "auto" (inferred from the target);
    ``test_split`` is the dataset's default fraction held out for testing; ``source`` names
    where the rows came from (a dataset name or a file path) for messages; ``lines`` holds each
    row's line number in the source file (None for arrays and built-in data); ``notes`` says
    what was inferred while reading (the delimiter, decimal commas).
    """

    name: str
    features: pd.DataFrame
    target: pd.Series
    task: str
    test_split: float = 0.2
    source: str = ""
    lines: np.ndarray | None = None
    notes: list = field(default_factory=list)
    sample_shape: tuple | None = None   # a sample's shape as a CNN takes it (built-in images and signals)

    @property
    def n_samples(self) -> int:
        return len(self.features)

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    def where(self, row: int) -> str:
        """Where row ``row`` (a position in this table) came from: ``"line 7"`` in a file, else ``"row 6"``."""
        return f"line {self.lines[row]}" if self.lines is not None else f"row {row}"

    def digest(self) -> dict:
        """What identifies these rows, for a model to tell its own data again: the number of rows, a digest of
        the rows in order, and one of the rows in any order (so that a reordering is told from other values)."""
        import hashlib

        frame = self.features.rename(columns=str).assign(**{"\0target": self.target.to_numpy()})
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
        ordered = hashlib.blake2b(rows.tobytes(), digest_size=16).hexdigest()
        unordered = hashlib.blake2b(np.sort(rows).tobytes(), digest_size=16).hexdigest()
        return {"rows": int(len(rows)), "digest": ordered, "digest_any_order": unordered}

    def subset(self, rows) -> "Table":
        """The same table restricted to the given row positions (their line numbers go with them)."""
        return replace(self, features=self.features.iloc[rows].reset_index(drop=True),
                       target=self.target.iloc[rows].reset_index(drop=True),
                       lines=None if self.lines is None else self.lines[rows])


def from_arrays(name, X, y, task, *, feature_names=None, target_name="target", test_split=0.2,
                source="") -> Table:
    """A Table from a 2-D feature array and a 1-D target array."""
    columns = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(X.shape[1])]
    return Table(name, pd.DataFrame(X, columns=columns), pd.Series(y, name=target_name), task,
                 test_split, source or name)
