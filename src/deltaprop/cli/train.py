"""``deltaprop train``: check every setting, load the data, train an MLP, test it, write the run folder.

The order matters to the user: every option is checked before any data is read, the data and
the splits before anything is written, and the run folder appears only complete (see
`run_folder`).
"""
from __future__ import annotations

import math
import os
import sys

import numpy as np

from ..errors import InputError, plural, shorten
from ..training.callbacks import TerminateOnNaN
from . import config as run_config
from .notes import note, say, unseen_notice, warn
from .run_folder import BACKUP, RunFolder, check_out
from .tables import print_table

#: "auto" settings: with fewer than SMALL_TABLE training rows, more epochs of smaller batches, a larger
#: validation share (so early stopping is meaningful) and a little dropout (against the noise of a small
#: validation set) — measured on iris, wine, breast_cancer and diabetes over 10 seeds. Below TINY_TABLE
#: training rows a validation set would be a handful of rows, and stopping on its noise lost to training
#: every epoch (statecrime, 41 training rows: R² −0.70 → 0.22 over 10 seeds; scotland, stackloss, longley
#: likewise): no validation split, the 300 epochs in full (bench/small_tables.py; the README's comparison).
SMALL_TABLE = 1000
TINY_TABLE = 100
AUTO = {"tiny": {"batch_size": 16, "val_split": 0.0, "epochs": 300, "patience": 20, "dropout": 0.1},
        "small": {"batch_size": 16, "val_split": 0.2, "epochs": 300, "patience": 20, "dropout": 0.1},
        "large": {"batch_size": 32, "val_split": 0.1, "epochs": 100, "patience": 10, "dropout": 0.0}}
TASK_LOSSES = {"classification": ("cross_entropy",), "regression": ("mse", "mae", "huber")}


def parse_layers(text) -> list:
    if isinstance(text, (list, tuple)):
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in text):
            raise InputError(f"--layers must be positive integers, got {text!r}")
        return list(text)
    text = str(text).strip()
    if text in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"--layers must be comma-separated integers such as 128,64, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise InputError(f"--layers sizes must be positive, got {text!r}")
    return sizes


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_settings(settings: dict) -> None:
    """Every value that argparse cannot check by itself, each error naming its option — before any data."""
    from ..layers import LAYERS
    from ..layers.activations import is_activation
    from ..optim import OPTIMIZERS

    def number(name, ok, expected, integer=False):
        value = settings[name]
        if value == run_config.AUTO or value is None:
            return
        if integer and (isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"{_option(name)} must be an integer, got {value!r}")
        if not math.isfinite(value) or not ok(value):
            raise InputError(f"{_option(name)} must be {expected}, got {value:g}")

    number("epochs", lambda v: v >= 1, "at least 1", integer=True)
    number("batch_size", lambda v: v >= 1, "at least 1", integer=True)
    number("patience", lambda v: v >= 0, "0 or more", integer=True)
    number("lr", lambda v: v > 0, "a positive number")
    number("val_split", lambda v: 0 <= v < 1, "in [0, 1)")
    number("test_split", lambda v: 0 <= v < 1, "in [0, 1)")
    number("dropout", lambda v: 0 <= v < 1, "in [0, 1)")
    number("clip_norm", lambda v: v > 0, "a positive number")
    number("seed", lambda v: v >= 0, "0 or more", integer=True)
    number("sharpness", lambda v: v >= 0, "0 (off) or a number of epochs", integer=True)
    parse_layers(settings["layers"])
    activation = settings["activation"]
    if activation not in LAYERS or not is_activation(LAYERS.lookup(activation)) or activation == "softmax":
        raise InputError(f"--activation {settings['activation']!r} is unknown; use one of relu, leaky_relu, elu, "
                         "gelu, sigmoid, tanh, softplus, identity")
    if settings["optimizer"] not in OPTIMIZERS:
        raise InputError(f"--optimizer {settings['optimizer']!r} is unknown; use one of {', '.join(OPTIMIZERS)}")
    if settings["loss"] not in ("auto", *TASK_LOSSES["classification"], *TASK_LOSSES["regression"]):
        raise InputError(f"--loss {settings['loss']!r} is unknown; use auto, cross_entropy, mse, mae or huber")
    if settings["normalization"] == "batchnorm" and settings["batch_size"] == 1:
        raise InputError("--batch-size must be at least 2 with --normalization batchnorm (a batch of one sample "
                         "has no variance to normalize by)")
    if settings["conv"] and settings["rnn"]:
        raise InputError("give --conv or --rnn, not both")
    if settings["conv"]:
        from ..builders import parse_conv

        try:
            parse_conv(settings["conv"])
        except ValueError as exc:
            raise InputError(f"--conv: {exc}") from None
        if settings["normalization"] == "layernorm":
            raise InputError("--normalization layernorm is for Dense layers; use batchnorm with --conv")
        if settings["input_shape"]:
            parse_shape(settings["input_shape"])
    elif settings["rnn"]:
        from ..builders import parse_rnn

        try:
            parse_rnn(settings["rnn"])
        except ValueError as exc:
            raise InputError(f"--rnn: {exc}") from None
        if settings["pool"] != "none":
            raise InputError("--pool applies to a CNN; give --conv")
        if settings["input_shape"] and len(parse_shape(settings["input_shape"])) != 2:
            raise InputError(f"--input-shape for --rnn must be T,F (steps, features), got {settings['input_shape']!r}")
    elif settings["pool"] != "none":
        raise InputError("--pool applies to a CNN; give --conv")
    elif settings["input_shape"]:
        raise InputError("--input-shape applies to a CNN or an RNN; give --conv or --rnn")
    both = sorted(set(settings["drop"]) & set(settings["keep"]))
    if both:
        raise InputError(f"--drop and --keep both name {both[0]!r}")


def adapt(settings: dict, n_train: int) -> dict:
    """Resolve the "auto" settings for a table with ``n_train`` training rows (see `AUTO`)."""
    chosen = AUTO["tiny" if n_train < TINY_TABLE else "small" if n_train < SMALL_TABLE else "large"]
    return {key: chosen.get(key, value) if value == run_config.AUTO else value for key, value in settings.items()}


def default_loss(task: str, loss: str) -> str:
    """The loss for the task: cross-entropy for classes, MSE for numbers, or the one asked for if it fits."""
    if loss == "auto":
        return "cross_entropy" if task == "classification" else "mse"
    if loss not in TASK_LOSSES[task]:
        raise InputError(f"--loss {loss} does not fit a {task} task; use one of {', '.join(TASK_LOSSES[task])} "
                         "(or --task to change the task)")
    return loss


def header_mode(settings: dict):
    """True (--header), False (--no-header) or None (decide from line 1)."""
    return True if settings.get("header") else False if settings.get("no_header") else None


def decimal_mark(settings: dict):
    decimal = settings.get("decimal", "auto")
    return None if decimal == "auto" else decimal


def load_table(settings: dict, say_notes: bool = True):
    """The table the settings name, read as they say (header, decimal mark), its notes said."""
    from .. import datasets

    data, target = settings["data"], settings["target"]
    csv_only = [name for name, given in (("target", target is not None), ("no-header", settings.get("no_header")),
                                         ("header", settings.get("header")),
                                         ("decimal", settings.get("decimal", "auto") != "auto")) if given]
    if data in datasets.BUILTIN and csv_only:
        raise InputError(f"--{csv_only[0]} applies to CSV files, not to the built-in dataset {data!r}")
    table = datasets.load(data, target, header=header_mode(settings), decimal=decimal_mark(settings))
    if say_notes:
        for text in table.notes:
            note(text)
    return table


def test_rows(table, settings: dict, task: str):
    """(train, test) row positions; a test split that leaves no test rows is refused, naming --test-split."""
    from ..datasets.split import held_out_rows

    train, test = held_out_rows(table, test_split=settings["test_split"], task=task, seed=settings["seed"])
    test_split = table.test_split if settings["test_split"] is None else settings["test_split"]
    if test_split > 0 and len(test) == 0:
        hint = ""
        if task == "classification" and table.target.nunique() > table.n_samples / 2:
            hint = (f" (stratified by class, and the {table.target.nunique()} classes have one or two rows each; if "
                    "the target is a quantity, use --task regression)")
        raise InputError(f"--test-split {test_split:g} leaves no test rows of the {table.n_samples} rows{hint}; use a "
                         "larger --test-split, or --test-split 0 to train without a test")
    return train, test


def validation_rows(split, settings: dict) -> np.ndarray:
    """Positions of the validation rows among the training rows (stratified by class); a split that
    leaves either side empty is refused, naming --val-split."""
    from ..datasets.split import held_out

    classification = split.preprocessor.task == "classification"
    n_train = len(split.y_train)
    val = held_out(split.y_train, settings["val_split"], np.random.default_rng([settings["seed"], 1]), classification)
    minimum = 2 if settings["normalization"] == "batchnorm" else 1
    if n_train - len(val) < minimum:
        raise InputError(f"--{'val' if len(val) else 'test'}-split leaves {n_train - len(val)} training row(s); need "
                         f"at least {minimum}")
    if settings["val_split"] > 0 and len(val) == 0:
        raise InputError(f"--val-split {settings['val_split']:g} leaves no validation rows of the {n_train} training "
                         "rows; use a larger --val-split, or --val-split 0 (no early stopping)")
    return val


def describe_data(table, split, n_val: int) -> list:
    pre = split.preprocessor
    lines = [f"data: {table.source or table.name} — {plural(table.n_samples, 'row')}, "
             f"{table.n_features} feature column(s) → {plural(pre.n_inputs, 'input')}"]
    if pre.categories:
        shown = list(pre.categories.items())
        lines.append("one-hot: " + ", ".join(f"{c} ({plural(len(v), 'category')})" for c, v in shown[:8])
                     + (f" … and {len(shown) - 8} more" if len(shown) > 8 else ""))
    if pre.task == "classification":
        shown = ", ".join(pre.class_names[:10]) + (", …" if len(pre.class_names) > 10 else "")
        lines.append(f"task: classification — {len(pre.class_names)} classes: {shown}")
    else:
        lines.append(f"task: regression — target {pre.target_name!r} (standardized for training: mean "
                     f"{pre.target_mean:.4g}, std {pre.target_std:.4g})")
    n_train = len(split.X_train) - n_val
    lines.append(f"split: {n_train} train / {n_val} validation / {len(split.X_test)} test rows "
                 "(features standardized on the training rows)")
    if pre.indicators:
        lines.append(f"missing-value inputs: {', '.join(f'{c} (missing)' for c in pre.indicators[:6])}"
                     + (f" … and {len(pre.indicators) - 6} more" if len(pre.indicators) > 6 else ""))
    return lines


def data_notices(table, split) -> None:
    import shlex

    pre = split.preprocessor
    for text in pre.notes:
        note(text)
    for column, reason in pre.dropped.items():
        if reason == "--drop":
            note(f"column {column!r} left out (--drop)")
        elif reason.startswith("the same value"):
            note(f"column {column!r} left out: {reason}")
        else:
            note(f"column {column!r} left out: {reason} (--keep {shlex.quote(column)} to one-hot encode it)")
    for column in [] if hasattr(table, "X") else counting_columns(table.features, pre):
        note(f"column {column!r} holds distinct whole numbers counting up, like a row number or an identifier; if it "
             f"is one, leave it out with --drop {shlex.quote(column)}")
    if pre.task == "classification":
        if len(pre.class_names) > len(split.X_train) / 2:
            warn(f"{len(pre.class_names)} classes for {len(split.X_train)} training rows: most classes have one or "
                 "two rows; if the target is a quantity, use --task regression")
        else:
            labels, counts = np.unique(pre.encode_target(table.target, table.source, table.lines), return_counts=True)
            single = [pre.class_names[label] for label, n in zip(labels, counts) if n == 1]
            if single:
                warn(f"{plural(len(single), 'class')} with a single row ({shorten(single, 3)}): it cannot be both "
                     "learned and tested; gather more rows of it, or leave it out")
    text = unseen_notice(pre, split.test_table.features, "test") if pre.categories else None
    if text:
        note(text)


def counting_columns(features, pre) -> list:
    """Numeric feature columns of distinct whole numbers that rise by one from row to row (a row number or an
    identifier kept as a feature; trained on, it only tells the model where a row sits in the file)."""
    found = []
    for column in pre.feature_columns:
        if column in pre.categories or column not in features:
            continue
        values = features[column].to_numpy(dtype=np.float64)
        if len(values) > 10 and np.all(np.diff(values) == 1):     # the rows as the file holds them
            found.append(column)
    return found


def scores(model, X, y, loss: str, pre, prefix: str = "") -> list:
    """(name, value) rows: the loss, then accuracy (classification) or MSE, MAE and R² in the
    target's own units (regression), each name prefixed (``"test accuracy"``)."""
    from .. import losses
    from ..training import metrics

    output = model.predict(X)
    if pre.task == "classification":
        rows = [("loss", losses.get(loss).forward(output, y)), ("accuracy", metrics.get("accuracy")(output, y))]
    else:        # the loss trains on the standardized target; the errors are in the target's own units
        unit = f" ({pre.target_name})" if pre.target_name else ""
        prediction, target = pre.decode_output(output), pre.decode_output(y[:, None])
        rows = [(f"{loss} (standardized target)", losses.get(loss).forward(output, y))]
        rows += [(f"{name}{unit if name != 'r2' else ''}", metrics.get(name)(prediction, target))
                 for name in ("mse", "mae", "r2")]
    return [(f"{prefix} {name}".strip(), value) for name, value in rows]


def result_rows(history, early_stopping) -> list:
    """Epochs trained, the epoch whose weights were kept, and its losses."""
    rows = [("epochs trained", history.epochs)]
    kept = history.epochs - 1
    if early_stopping is not None and early_stopping.restored_epoch is not None:
        kept = early_stopping.restored_epoch
        rows.append(("kept weights of epoch", f"{kept + 1} (lowest validation loss)"))
    if history.epochs:
        rows.append(("train loss", history["loss"][kept]))
        if history.get("val_loss"):
            rows.append(("validation loss", history["val_loss"][kept]))
    return rows


class FailOnNaN(TerminateOnNaN):
    """TerminateOnNaN that ends the command: raises TrainingFailed with where it started and what to do."""

    def __init__(self, settings: dict):
        self.settings = settings

    def stop(self, reason: str, message: str = "") -> None:
        from . import TrainingFailed

        advice = f"lower --lr (now {self.settings['lr']:g})"
        if self.settings["clip_norm"] is None:
            advice += ", or add --clip-norm 1.0"
        else:
            advice += f", or a smaller --clip-norm (now {self.settings['clip_norm']:g})"
        raise TrainingFailed(f"the loss became NaN or infinite at epoch {self.epoch + 1}, step {self.batch + 1} "
                             f"(first in {self.where}): {advice}; nothing was written")


def connect_ranks(args):
    """The processes of this run: the MPI ranks with --distributed under mpiexec, else this one."""
    from ..training import distributed

    if not getattr(args, "distributed", False):
        return distributed.Replicas()
    if args.diagnose:
        raise InputError("--diagnose watches the training of one process; leave out --distributed")
    try:
        return distributed.connect(True)
    except ImportError as exc:
        raise InputError(f"--distributed: {exc}") from None


def on_chief(replicas, action):
    """Run ``action`` on rank 0 alone (a change on disk) and give its result — or its InputError — to every rank."""
    result, error = None, None
    if replicas.is_chief:
        try:
            result = action()
        except InputError as exc:
            error = exc
    if replicas.size > 1:
        shared = replicas.broadcast((result, error))
        if not replicas.is_chief:     # (rank 0 keeps its own object: a run folder and the lock it holds)
            result, error = shared
    if error is not None:
        raise error
    return result


def parse_shape(text: str) -> tuple:
    """``"1,28,28"`` → (1, 28, 28); an InputError naming --input-shape otherwise."""
    try:
        shape = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        shape = ()
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise InputError(f"--input-shape must be C,L or C,H,W (positive integers), e.g. 1,28,28, got {text!r}")
    return shape


def cnn_input_shape(settings: dict, table, pre) -> tuple:
    """A sample's shape for --conv: --input-shape, else the built-in dataset's; its size must be the inputs'."""
    if settings["input_shape"]:
        shape = parse_shape(settings["input_shape"])
    elif getattr(table, "sample_shape", None) and getattr(table, "sample_kind", "image") == "sequence":
        raise InputError(f"{table.name}: X.npy holds sequences (rows × steps × features); --conv reads (channels, "
                         "length): give --input-shape C,L, or use --rnn")
    elif getattr(table, "sample_shape", None):
        shape = tuple(table.sample_shape)
    else:
        raise InputError(f"--conv needs a sample shape: give --input-shape C,L or C,H,W for {table.name} (digits, "
                         "mnist5k and mnist1d have theirs)")
    if math.prod(shape) != pre.n_inputs:
        raise InputError(f"--input-shape {','.join(map(str, shape))} holds {math.prod(shape)} values, but the data "
                         f"has {pre.n_inputs} inputs")
    return shape


def rnn_input_shape(settings: dict, table, pre) -> tuple:
    """A sequence's (steps, features) for --rnn: --input-shape T,F, else the data's own (a .npy folder's 3-D X, or
    a built-in one-channel signal (1, L) read as L steps of 1 feature); its size must be the inputs'."""
    if settings["input_shape"]:
        shape = parse_shape(settings["input_shape"])
    elif getattr(table, "sample_shape", None) and len(table.sample_shape) == 2:
        shape = tuple(table.sample_shape)
        if getattr(table, "sample_kind", "image") != "sequence":     # (channels, length) of a built-in signal
            if shape[0] != 1:
                raise InputError(f"--rnn needs --input-shape T,F for {table.name}")
            shape = (shape[1], 1)
    else:
        raise InputError(f"--rnn needs the sequences' shape: give --input-shape T,F (steps, features) for "
                         f"{table.name}, or a .npy folder whose X.npy has shape (N, T, F)")
    if math.prod(shape) != pre.n_inputs:
        raise InputError(f"--input-shape {','.join(map(str, shape))} holds {math.prod(shape)} values, but the data "
                         f"has {pre.n_inputs} inputs")
    return shape


def shaped(X, sample_shape):
    """Rows of features as samples of ``sample_shape`` (a view; LazyRows reshape each row they read)."""
    if hasattr(X, "reshape_samples"):
        return X.reshape_samples(sample_shape)
    return X.reshape(len(X), *sample_shape)


def take_rows(X, positions):
    """Rows ``positions`` of X: an array's copied, a LazyRows's still unread."""
    return X.subset(positions) if hasattr(X, "subset") else X[positions]


def run(args) -> int:
    """``deltaprop train``; under mpiexec with --distributed, every rank runs it and rank 0 alone prints and writes."""
    import contextlib

    from .. import threads
    from . import notes

    if args.threads is not None:
        if args.threads < 1:
            raise InputError(f"--threads must be at least 1, got {args.threads}")
        threads.set_num_threads(args.threads)
    replicas = connect_ranks(args)
    if replicas.is_chief:
        return train(args, replicas)
    notes.SILENT = True
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        return train(args, replicas)


def train(args, replicas) -> int:
    """Check the settings and the data (on every rank, together), build the network, train it in its run
    folder, then test it and write the run (rank 0)."""
    from .. import datasets
    from ..datasets.split import resolve_task

    chief = replicas.is_chief
    folder = None
    try:
        with replicas.together():        # a problem on any rank ends every rank, said once
            if args.resume:
                check_resume_options(args)
                folder = on_chief(replicas, lambda: RunFolder.resuming(args.resume))
                settings = on_chief(replicas, lambda: {**run_config.DEFAULTS,
                                                       **run_config.read_toml(folder.settings_file())})
            else:
                settings = run_config.resolve(args)
            check_settings(settings)
            if args.out is not None:
                check_out(args.out, args.overwrite)
                data = os.path.realpath(settings["data"])
                if os.path.isfile(data) and os.path.commonpath([data, os.path.realpath(args.out)]) == \
                        os.path.realpath(args.out):
                    raise InputError(f"--out {args.out}: holds the data file {settings['data']} this run reads "
                                     "(replacing the run would delete it); move the data, or choose another --out")
            hidden = parse_layers(settings["layers"])
            table = load_table(settings)
            identity = table.digest() if hasattr(table, "digest") else None   # for evaluate --split test
            if settings["missing"] == "drop":
                table, text = datasets.complete_rows(table, settings["drop"])
                if text:
                    note(text)
            elif settings["missing"] == "refuse" and not hasattr(table, "X"):    # said before anything else
                from .. import missing as missing_values

                columns = [c for c in map(str, table.features.columns) if c not in settings["drop"]]
                missing_values.check_policy(missing_values.count(table.features.rename(columns=str), columns),
                                            table.n_samples, "refuse", table.source, table.lines)
            task = resolve_task(table, settings["task"])
            loss_name = default_loss(task, settings["loss"])
            train_rows, _ = test_rows(table, settings, task)
            settings = adapt(settings, len(train_rows))
        with replicas.together():
            split = datasets.split(table, test_split=settings["test_split"], task=task, seed=settings["seed"],
                                   drop=settings["drop"], keep=settings["keep"], replicas=replicas,
                                   **({} if hasattr(table, "X") else {"missing": settings["missing"]}))
        with replicas.together():
            val_rows = validation_rows(split, settings)
            for line in describe_data(table, split, len(val_rows)):
                say(line)
            data_notices(table, split)
            model, layout = build_model(settings, hidden, table, split)
            if folder is None:
                folder = on_chief(replicas, lambda: RunFolder(args.out, table.name, args.overwrite))
        return train_in(folder, args, replicas, settings, table, split, val_rows, model, layout, hidden, loss_name,
                        identity)
    finally:
        if chief and folder is not None:
            folder.release()


def build_model(settings: dict, hidden: list, table, split):
    """The network the settings describe (an MLP, or a CNN with --conv), checked to fit in memory; and its layout
    as the model line shows it. ``split``'s features are reshaped to the CNN's sample shape."""
    import deltaprop as dp

    pre = split.preprocessor
    normalization = None if settings["normalization"] == "none" else settings["normalization"]
    if settings["conv"]:
        sample_shape = cnn_input_shape(settings, table, pre)
        try:
            model = dp.cnn(sample_shape, settings["conv"], pre.n_outputs, hidden=hidden,
                           activation=settings["activation"], normalization=normalization,
                           pool=None if settings["pool"] == "none" else settings["pool"], dropout=settings["dropout"],
                           seed=settings["seed"], dtype=settings["dtype"])
        except ValueError as exc:    # a stack that shrinks the sample to nothing, or one too large for memory
            raise InputError(f"--conv {settings['conv']}: {exc}") from None
        check_training_memory(sum(p.size for p in model.parameters()), settings, f"--conv {settings['conv']}")
        split.X_train, split.X_test = shaped(split.X_train, sample_shape), shaped(split.X_test, sample_shape)
        layout = " → ".join([("×".join(map(str, sample_shape))), f"conv {settings['conv']}",
                             *map(str, hidden), str(pre.n_outputs)])
    elif settings["rnn"]:
        sample_shape = rnn_input_shape(settings, table, pre)
        model = dp.rnn(sample_shape, settings["rnn"], pre.n_outputs, hidden=hidden, activation=settings["activation"],
                       seed=settings["seed"], dtype=settings["dtype"])
        check_training_memory(sum(p.size for p in model.parameters()), settings, f"--rnn {settings['rnn']}")
        split.X_train, split.X_test = shaped(split.X_train, sample_shape), shaped(split.X_test, sample_shape)
        layout = " → ".join([("×".join(map(str, sample_shape))), f"rnn {settings['rnn']}",
                             *map(str, hidden), str(pre.n_outputs)])
    else:
        sizes = [pre.n_inputs, *hidden, pre.n_outputs]
        check_training_memory(sum((n_in + 1) * n_out for n_in, n_out in zip(sizes, sizes[1:])), settings,
                              f"--layers {settings['layers']}")
        try:
            model = dp.mlp(sizes, activation=settings["activation"], normalization=normalization,
                           dropout=settings["dropout"], seed=settings["seed"], dtype=settings["dtype"])
        except ValueError as exc:
            raise InputError(f"--layers {settings['layers']}: {exc}") from None
        layout = " → ".join(str(n) for n in sizes)
    model.preprocessing = pre
    return model, layout


#: copies of the parameters training keeps: values, gradients, the optimizer's state (Adam: 2, with amsgrad 3),
#: the best weights (EarlyStopping), the copy a backup writes and its bytes (with their checksum)
TRAINING_COPIES = 8


def check_training_memory(n_parameters: int, settings: dict, option: str) -> None:
    """Refuse a network whose training would not fit in this machine's memory, naming its size."""
    from .._checks import available_memory, describe_bytes

    itemsize = 8 if settings["dtype"] == "float64" else 4
    needed = n_parameters * itemsize * TRAINING_COPIES
    available = available_memory()
    if needed > available:
        raise InputError(f"{option}: {n_parameters:,} parameters; training needs about {describe_bytes(needed)} "
                         f"({settings['dtype']} weights, gradients, optimizer state and copies), more than the "
                         f"{describe_bytes(available)} of memory available")


def train_in(folder, args, replicas, settings, table, split, val_rows, model, layout, hidden, loss_name,
             identity=None) -> int:
    """Train in the run's staging folder (backing up every epoch), then test the model and write the run."""
    import deltaprop as dp

    from ..training.backup import BackupError
    from . import TrainingFailed
    from .signals import StopOnSignal, graceful

    chief = replicas.is_chief
    pre = split.preprocessor
    optimizer = dp.optim.get(settings["optimizer"], settings["lr"])
    metrics = ["accuracy"] if pre.task == "classification" else ["r2"]
    in_training = np.setdiff1d(np.arange(len(split.X_train)), val_rows)
    validation = (take_rows(split.X_train, val_rows), split.y_train[val_rows]) if len(val_rows) else None
    early_stopping = None
    if settings["patience"] > 0 and validation is not None:
        early_stopping = dp.EarlyStopping(monitor="val_loss", patience=settings["patience"])
    stopper = FailOnNaN(settings)
    extra_callbacks, after_training = [], None
    if settings["diagnose"]:
        from .diagnose import attach
        extra_callbacks, after_training = attach(model, split, loss_name, folder, optimizer, settings["batch_size"])
    if settings["sharpness"]:    # λ_max every N epochs on 1,000 training rows: history.csv, the epoch lines, the report
        extra_callbacks.append(dp.Sharpness(every=settings["sharpness"], samples=1000, seed=settings["seed"]))
    print(f"model: {layout} ({settings['activation']}), {sum(p.size for p in model.parameters())} parameters; "
          f"loss {loss_name}, {type(optimizer).__name__}(lr={settings['lr']:g}), batch {settings['batch_size']}, "
          f"at most {settings['epochs']} epochs" + (f", patience {settings['patience']}" if early_stopping else ""))

    with graceful() as stop_request, np.errstate(all="ignore"):
        if folder.staging is None:
            folder = on_chief(replicas, lambda: (folder.stage(), folder)[1])
        for text in folder.notes:
            note(text)
        resume_hint = f"deltaprop train --resume {folder.final}"
        if replicas.size > 1:      # the ranks must be started again, and told to share the work again
            resume_hint = f"mpiexec -n {replicas.size} {resume_hint} --distributed"
        try:
            if chief:
                with folder.writing("config.toml") as path:   # what --resume reads if this run is killed
                    run_config.write_toml(settings, path)
            # the backup stays until the finished run is in place (folder.finish): a kill while saving the run
            # leaves a staging folder that --resume continues
            backup = dp.BackupAndRestore(folder.path(BACKUP), delete_on_end=False)
            if args.resume:
                print(f"resuming {folder.final} from its backup")
            else:
                note(f"backing up every epoch; if this run is killed, continue it with: {resume_hint}")
            with folder.writing(BACKUP):   # the only file written while training: its errors name the run's backup
                history = model.fit(
                    take_rows(split.X_train, in_training), split.y_train[in_training], loss=loss_name, optimizer=optimizer,
                    epochs=settings["epochs"], batch_size=settings["batch_size"], validation_data=validation,
                    metrics=metrics, clip_norm=settings["clip_norm"], seed=settings["seed"],
                    callbacks=[c for c in (early_stopping, stopper, StopOnSignal(stop_request)) if c]
                    + extra_callbacks + [backup], verbose=0 if args.quiet else 1,
                    distributed=replicas if replicas.size > 1 else False)
            if not chief:     # rank 0 tests the model and writes the run
                return 0
            if history.epochs == 0:     # stopped within the first epoch: no epoch, no backup, nothing to keep
                folder.discard()
                print(f"deltaprop: stopped by {stop_request.name} during the first epoch: nothing was written",
                      file=sys.stderr)
                return stop_request.exit_code
            if history.message and args.quiet:
                print(history.message)
            rows = result_rows(history, early_stopping)
            if len(split.X_test):
                rows += scores(model, split.X_test, split.y_test, loss_name, pre, prefix="test")
            print_table(["metric", "value"], rows)
            info = {"data": settings["data"], "target": settings["target"], "no_header": settings["no_header"],
                    "header": settings["header"], "decimal": settings["decimal"],
                    "test_split": table.test_split if settings["test_split"] is None else settings["test_split"],
                    "task": pre.task, "seed": settings["seed"], "loss": loss_name, **(identity or {})}
            written = write_run(folder, model, optimizer, history, settings, info, table.name, hidden, loss_name)
            if after_training is not None:
                written += after_training(history)
            ended = history.stop_reason != "interrupted"
            folder.commit(finished=ended)
        except TrainingFailed:
            if chief:
                folder.discard(keep_backup=False)   # resuming would only diverge again
            raise
        except BackupError as exc:
            if args.resume and "data" in getattr(exc, "differences", ()):
                raise InputError(f"--resume {folder.final}: the data changed since the run began: {settings['data']} "
                                 "now holds other rows or values than the run trained on; a run continues only on "
                                 "its own data: put the data back as it was, or train afresh with another --out") \
                    from None
            raise
        except BaseException as exc:
            if chief and folder.discard():
                exc.deltaprop_hint = f"the last backup is kept; continue the run with: {resume_hint}"
            raise
    print(f"wrote {folder.final}/: {', '.join(written)}")
    if stop_request.signum is not None:
        if ended:       # the signal came while the finished run was being saved: it is complete
            print(f"{stop_request.name} came while the finished run was being saved: it is complete in "
                  f"{folder.final}/")
        else:
            print(f"stopped by {stop_request.name}: the run so far is in {folder.final}/; continue it with: "
                  f"{resume_hint}")
        return stop_request.exit_code
    return 0


def check_resume_options(args) -> None:
    """--resume continues a run as it began: no other option may be given."""
    given = [key for key in run_config.SETTINGS if getattr(args, key, None) not in (None, False, [])]
    given += [name for name in ("out", "config") if getattr(args, name, None) is not None]
    if given or args.overwrite:
        shown = ", ".join("--" + key.replace("_", "-") for key in given + (["overwrite"] if args.overwrite else []))
        raise InputError(f"--resume continues a run with its own settings; leave out {shown}")


def write_run(folder, model, optimizer, history, settings, info, data_name, hidden, loss_name) -> list:
    """model.safetensors, history.csv, curves.png and config.toml, into the staging folder."""
    import deltaprop as dp
    from ..plots import plot_history

    pre = model.preprocessing
    with folder.writing("model.safetensors") as path:
        dp.save(model, path, optimizer=optimizer, step=history.epochs, info=info)
    with folder.writing("history.csv") as path:
        history.to_csv(path)
    with folder.writing("curves.png") as path:
        plot_history(history, path, title=f"{data_name}: {loss_name}, "
                     f"{' → '.join(str(n) for n in [pre.n_inputs, *hidden, pre.n_outputs])}")
    with folder.writing("config.toml") as path:
        run_config.write_toml(settings, path)
    return ["model.safetensors", "history.csv", "curves.png", "config.toml"]


__all__ = ["run", "parse_layers", "check_settings", "adapt", "default_loss", "scores"]
