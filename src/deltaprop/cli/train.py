"""``deltaprop train``: load data, infer the task, train an MLP, test it and write the run folder."""
from __future__ import annotations

import os
import time

from . import config as run_config
from .tables import print_table


def parse_layers(text) -> list:
    if isinstance(text, (list, tuple)):
        return [int(v) for v in text]
    text = str(text).strip()
    if text in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--layers must be comma-separated integers such as 128,64, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise ValueError(f"--layers sizes must be positive, got {text!r}")
    return sizes


def check_settings(settings: dict) -> None:
    """Option values that argparse cannot check by itself, each error naming its option."""
    checks = [
        ("epochs", settings["epochs"] >= 1, "at least 1"),
        ("batch_size", settings["batch_size"] >= 1, "at least 1"),
        ("lr", settings["lr"] > 0, "positive"),
        ("val_split", 0 <= settings["val_split"] < 1, "in [0, 1)"),
        ("patience", settings["patience"] >= 0, "0 or more"),
        ("dropout", 0 <= settings["dropout"] < 1, "in [0, 1)"),
    ]
    if settings["test_split"] is not None:
        checks.append(("test_split", 0 <= settings["test_split"] < 1, "in [0, 1)"))
    for name, ok, expected in checks:
        if not ok:
            raise ValueError(f"--{name.replace('_', '-')} must be {expected}, got {settings[name]}")


def output_folder(settings: dict, data_name: str) -> str:
    out = settings["out"] or os.path.join("runs", f"{data_name}-{time.strftime('%Y%m%d-%H%M%S')}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out {out}: exists and is a file, not a folder")
    return out


TASK_LOSSES = {"classification": ("cross_entropy", "ce"), "regression": ("mse", "mae", "huber")}


def default_loss(task: str, loss: str) -> str:
    """The loss for the task: cross-entropy for classes, MSE for numbers, or the one asked for if it fits."""
    if loss == "auto":
        return "cross_entropy" if task == "classification" else "mse"
    if loss.lower() not in TASK_LOSSES[task]:
        raise ValueError(f"--loss {loss} does not fit a {task} task; use one of {', '.join(TASK_LOSSES[task])} "
                         "(or --task to change the task)")
    return loss


def describe_data(table, split, n_val: int) -> list:
    pre = split.preprocessor
    lines = [f"data: {table.source or table.name} — {table.n_samples} rows, {table.n_features} feature column(s) "
             f"→ {pre.n_inputs} inputs"]
    if pre.categories:
        lines.append("one-hot: " + ", ".join(f"{c} ({len(v)} categories)" for c, v in pre.categories.items()))
    if pre.task == "classification":
        shown = ", ".join(pre.class_names[:10]) + (", …" if len(pre.class_names) > 10 else "")
        lines.append(f"task: classification — {len(pre.class_names)} classes: {shown}")
    else:
        lines.append(f"task: regression — target {pre.target_name!r} (standardized for training: mean "
                     f"{pre.target_mean:.4g}, std {pre.target_std:.4g})")
    n_train = len(split.X_train) - n_val
    lines.append(f"split: {n_train} train / {n_val} validation / {len(split.X_test)} test rows "
                 "(features standardized on the training rows)")
    return lines


def scores(model, X, y, loss: str, pre, prefix: str = "") -> list:
    """(name, value) rows: the loss, then accuracy (classification) or MSE, MAE and R² in the
    target's own units (regression), each name prefixed (``"test accuracy"``)."""
    from .. import losses
    from ..training import metrics

    output = model.predict(X)
    rows = [("loss", losses.get(loss).forward(output, y))]
    if pre.task == "classification":
        rows.append(("accuracy", metrics.get("accuracy")(output, y)))
    else:
        prediction, target = pre.decode_output(output), pre.decode_output(y[:, None])
        rows += [(name, metrics.get(name)(prediction, target)) for name in ("mse", "mae", "r2")]
    return [(f"{prefix} {name}".strip(), value) for name, value in rows]


def run(args) -> int:
    import deltaprop as dp
    from .. import datasets
    from ..plots import plot_history

    settings = run_config.resolve(args)
    check_settings(settings)
    hidden = parse_layers(settings["layers"])
    table = datasets.load(settings["data"], settings["target"])
    out = output_folder(settings, table.name)
    split = datasets.split(table, test_split=settings["test_split"], task=settings["task"], seed=settings["seed"])
    pre = split.preprocessor
    n_val = int(round(len(split.X_train) * settings["val_split"]))
    for line in describe_data(table, split, n_val):
        print(line)

    loss_name = default_loss(pre.task, settings["loss"])
    normalization = None if settings["normalization"] == "none" else settings["normalization"]
    model = dp.mlp([pre.n_inputs, *hidden, pre.n_outputs], activation=settings["activation"],
                   normalization=normalization, dropout=settings["dropout"], seed=settings["seed"],
                   dtype=settings["dtype"])
    model.preprocessing = pre
    optimizer = dp.optim.get(settings["optimizer"], settings["lr"])
    metrics = ["accuracy"] if pre.task == "classification" else ["r2"]
    callbacks = []
    if settings["patience"] > 0 and settings["val_split"] > 0:
        callbacks.append(dp.EarlyStopping(monitor="val_loss", patience=settings["patience"]))
    extra_callbacks, after_training = [], None
    if settings.get("diagnose"):
        from .diagnose import attach
        extra_callbacks, after_training = attach(model, split, loss_name, out)
    print(f"model: {' → '.join(str(n) for n in [pre.n_inputs, *hidden, pre.n_outputs])} "
          f"({settings['activation']}), {sum(p.size for p in model.parameters())} parameters; "
          f"loss {loss_name}, {type(optimizer).__name__}(lr={settings['lr']:g}), batch {settings['batch_size']}")

    os.makedirs(out, exist_ok=True)
    history = model.fit(split.X_train, split.y_train, loss=loss_name, optimizer=optimizer, epochs=settings["epochs"],
                        batch_size=settings["batch_size"], validation_split=settings["val_split"], metrics=metrics,
                        callbacks=callbacks + extra_callbacks, seed=settings["seed"],
                        verbose=0 if args.quiet else 1)
    if history.message and args.quiet:
        print(history.message)
    rows = [("epochs", len(history["loss"])), ("train loss", history["loss"][-1])]
    if history.get("val_loss"):
        rows.append(("validation loss", history["val_loss"][-1]))
    if len(split.X_test):
        rows += scores(model, split.X_test, split.y_test, loss_name, pre, prefix="test")
    print_table(["metric", "value"], rows)

    info = {"data": settings["data"], "target": settings["target"], "test_split": settings["test_split"],
            "task": pre.task, "seed": settings["seed"], "loss": loss_name}
    dp.save(model, os.path.join(out, "model.safetensors"), optimizer=optimizer, step=len(history["loss"]), info=info)
    history.to_csv(os.path.join(out, "history.csv"))
    plot_history(history, os.path.join(out, "curves.png"), title=f"{table.name}: {loss_name}, "
                 f"{' → '.join(str(n) for n in [pre.n_inputs, *hidden, pre.n_outputs])}")
    saved = dict(settings, out=out)
    run_config.write_toml(saved, os.path.join(out, "config.toml"))
    written = ["model.safetensors", "history.csv", "curves.png", "config.toml"]
    if after_training is not None:
        written += after_training(history)
    print(f"wrote {out}/: {', '.join(written)}")
    return 0
