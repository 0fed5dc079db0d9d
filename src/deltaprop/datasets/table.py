"""Table: the raw features and target of a dataset, before any preprocessing."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

TASKS = ("classification", "regression")


class DataError(ValueError):
    """Bad user data: the message names the file, the line and the column where it can."""


@dataclass
class Table:
    """Raw features (a DataFrame, one column per feature) and the target (a Series).

    ``task`` is "classification" or "regression"; ``test_split`` is the dataset's default
    fraction held out for testing; ``source`` names where the rows came from (a dataset name
    or a file path) for messages.
    """

    name: str
    features: pd.DataFrame
    target: pd.Series
    task: str
    test_split: float = 0.2
    source: str = ""

    @property
    def n_samples(self) -> int:
        return len(self.features)

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    def subset(self, rows) -> "Table":
        """The same table restricted to the given row positions."""
        return replace(self, features=self.features.iloc[rows].reset_index(drop=True),
                       target=self.target.iloc[rows].reset_index(drop=True))


def from_arrays(name, X, y, task, *, feature_names=None, target_name="target", test_split=0.2,
                source="") -> Table:
    """A Table from a 2-D feature array and a 1-D target array."""
    columns = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(X.shape[1])]
    return Table(name, pd.DataFrame(X, columns=columns), pd.Series(y, name=target_name), task,
                 test_split, source or name)
