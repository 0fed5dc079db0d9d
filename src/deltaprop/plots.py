"""Training curves drawn with matplotlib: loss and the first metric, train and validation."""
from __future__ import annotations

from ._files import atomic_path


def history_figure(history, title: str = ""):
    """A matplotlib Figure of a History: loss (left) and the first metric (right) per epoch.

    Train curves are solid, validation curves dashed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = list(range(1, len(history["loss"]) + 1))
    metrics = [key for key in history if key not in ("epoch", "loss", "lr", "seconds") and not key.startswith("val_")]
    panels = [("loss", "loss")] + [(metric, metric) for metric in metrics[:1]]
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for axis, (key, label) in zip(axes[0], panels):
        axis.plot(epochs, history[key], "-", color="tab:blue", linewidth=2, label=f"train {label}")
        validation = history.get(f"val_{key}")
        if validation and any(v is not None for v in validation):
            axis.plot(epochs, validation, "--", color="tab:orange", linewidth=2, label=f"validation {label}")
        axis.set_xlabel("epoch")
        log_scale = key == "loss" and min(history[key]) > 0 and max(history[key]) > 10 * min(history[key])
        axis.set_ylabel(label + (" (log scale)" if log_scale else ""))
        axis.set_title(label.capitalize() if label != "r2" else "R²")
        if log_scale:  # only when the loss spans more than a factor 10
            axis.set_yscale("log")
        axis.grid(True, alpha=0.3)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_history(history, path, title: str = "") -> None:
    """Save `history_figure()` as a PNG (``curves.png``), atomically."""
    save_figure(history_figure(history, title), path)


def save_figure(figure, path) -> None:
    """Write a matplotlib Figure as a PNG atomically (a temporary file, then a rename) and close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path, suffix=".png") as temporary:
            figure.savefig(temporary, dpi=110)
    finally:
        plt.close(figure)
