"""Training curves drawn with matplotlib: loss and the first metric, train and validation."""
from __future__ import annotations

from ._files import atomic_path


#: what the Sharpness and GradientNoise callbacks record beside the epoch's logs (not metrics to plot as one)
CURVATURE_KEYS = ("sharpness", "stability", "noise_scale")


def history_figure(history, title: str = ""):
    """A matplotlib Figure of a History: loss (left) and the first metric (right) per epoch.

    Train curves are solid, validation curves dashed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = list(range(1, len(history["loss"]) + 1))
    metrics = [key for key in history if key not in ("epoch", "loss", "lr", "seconds", *CURVATURE_KEYS)
               and not key.startswith("val_")]
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


def sharpness_figure(history, title: str = ""):
    """A matplotlib Figure of λ_max per epoch (the ``Sharpness`` callback's measures) beside the stability limit
    2/η of each epoch's learning rate η, and the loss on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [i + 1 for i, value in enumerate(history["sharpness"]) if value is not None]
    sharpness = [value for value in history["sharpness"] if value is not None]
    figure, axis = plt.subplots(figsize=(6.5, 4))
    axis.plot(epochs, sharpness, "o-", color="tab:blue", markersize=3, linewidth=1.5, label="λ_max (sharpness)")
    lrs = [lr for lr in history.get("lr") or [] if lr]
    if lrs:
        limits = [2 / lr for lr in lrs]
        if max(sharpness) > 0.2 * min(limits):     # near enough to be drawn on the same scale
            axis.plot(range(1, len(limits) + 1), limits, "--", color="black", linewidth=1,
                      label="2/η (stability limit of gradient descent)")
            axis.set_ylim(0, 1.25 * max(max(sharpness), max(limits)))
        else:
            axis.plot([], [], " ", label=f"2/η ≥ {min(limits):.3g}: far above λ_max")
    axis.set_xlabel("epoch")
    axis.set_ylabel("λ_max")
    other = axis.twinx()
    other.plot(range(1, len(history["loss"]) + 1), history["loss"], color="tab:orange", linewidth=1, alpha=0.7,
               label="training loss")
    other.set_ylabel("training loss")
    handles = axis.get_lines() + other.get_lines()
    axis.legend(handles, [h.get_label() for h in handles], loc="upper center", fontsize=8, ncol=2)
    axis.set_title(title or "Sharpness during training")
    figure.tight_layout()
    return figure
