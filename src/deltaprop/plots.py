"""Training curves drawn with matplotlib: loss and the first metric, train and validation."""
from __future__ import annotations

import os
import tempfile


def plot_history(history, path, title: str = "") -> None:
    """Save ``curves.png``-style figure of a History: loss (left) and the metric (right) per epoch.

    Train curves are solid, validation curves dashed; the file is written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = list(range(1, len(history["loss"]) + 1))
    metrics = [key for key in history if key not in ("epoch", "loss", "lr", "seconds") and not key.startswith("val_")
               and not key.startswith("diag")]
    panels = [("loss", "loss")] + [(metric, metric) for metric in metrics[:1]]
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for axis, (key, label) in zip(axes[0], panels):
        axis.plot(epochs, history[key], "-", color="tab:blue", linewidth=2, label=f"train {label}")
        validation = history.get(f"val_{key}")
        if validation and any(v is not None for v in validation):
            axis.plot(epochs, validation, "--", color="tab:orange", linewidth=2, label=f"validation {label}")
        axis.set_xlabel("epoch")
        axis.set_ylabel(label + (" (log scale)" if key == "loss" and min(history[key]) > 0 else ""))
        axis.set_title(label.capitalize() if label != "r2" else "R²")
        if key == "loss" and min(history[key]) > 0:
            axis.set_yscale("log")
        axis.grid(True, alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".curves-", suffix=".png", dir=folder)
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=110)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        if os.path.exists(temporary):
            os.unlink(temporary)
