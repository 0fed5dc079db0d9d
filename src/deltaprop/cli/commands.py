"""``deltaprop evaluate | predict | summary | datasets | gradcheck``."""
from __future__ import annotations

import os
import sys

import numpy as np

from .._files import atomic_path
from ..errors import InputError, plural
from .notes import note, say
from .tables import print_table


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (the same path, a link, or a hard link)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwriting_inputs(option: str, output: str, **inputs) -> None:
    """No command writes over a file it reads: ``--out`` naming the model, the data or the config is refused."""
    for what, path in inputs.items():
        if path is not None and _same_file(output, path):
            raise InputError(f"{option} {output}: is the {what.replace('_', ' ')} this command reads; give another "
                             "file name")


def version_or_help(parser):
    def run(args) -> int:
        if args.version:
            from .._version import __version__
            print(f"deltaprop {__version__}")
            return 0
        parser.print_help()
        return 2
    return run


def _checkpoint(path: str):
    """The model file at ``path``, after finishing a replacement of its run that a killed process left half done."""
    from ..io import load_checkpoint
    from .notes import note
    from .run_folder import recover_before_reading

    done = recover_before_reading(path)
    if done:
        note(done)
    return load_checkpoint(path)


def _check_info(info: dict, task: str, path: str) -> None:
    """The run information ``deltaprop train`` saved (where the data came from, the split, the loss), checked:
    ``evaluate --split test`` replays the split from it, so a damaged value must not reach the code."""
    from ..errors import ModelFileError
    from .train import TASK_LOSSES

    def bad(key, expected):
        raise ModelFileError(f"{path}: info.{key} must be {expected}, got {info[key]!r:.60}")

    for key, kinds, expected in (("data", (str,), "a string"), ("target", (str, type(None)), "a column name"),
                                 ("no_header", (bool,), "true or false")):
        if key in info and not isinstance(info[key], kinds):
            bad(key, expected)
    split = info.get("test_split")
    if split is not None and (isinstance(split, bool) or not isinstance(split, (int, float)) or not 0 <= split < 1):
        bad("test_split", "a number in [0, 1)")
    seed = info.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        bad("seed", "an integer >= 0")
    if "task" in info and info["task"] != task:
        bad("task", f"the preprocessing's task {task!r}")
    if "loss" in info and info["loss"] not in TASK_LOSSES[task]:
        bad("loss", f"one of {', '.join(TASK_LOSSES[task])}")


def _load_model(path: str):
    checkpoint = _checkpoint(path)
    if checkpoint.model.preprocessing is None:
        raise InputError(f"{path}: the model has no saved preprocessing (it was not trained by 'deltaprop train'); "
                         "use it from Python with model.predict")
    _check_info(checkpoint.info, checkpoint.model.preprocessing.task, path)
    return checkpoint


def _reading(args, info) -> dict:
    """How to read a CSV as the model's training run read it: its header mode and decimal mark (the command's own
    --no-header wins)."""
    from .train import decimal_mark, header_mode

    return {"header": False if getattr(args, "no_header", False) else header_mode(info),
            "decimal": decimal_mark(info)}


def _rows(args, checkpoint):
    """The table to use and the rows of it (all, the held-out test rows of the training run, or its training
    rows: ``args.split`` "all", "test" or "train")."""
    from .. import datasets

    info, pre = checkpoint.info, checkpoint.model.preprocessing
    if args.data in datasets.BUILTIN:
        table = datasets.load(args.data)
    else:
        target = getattr(args, "target", None) or info.get("target")
        table = datasets.load(args.data, target, **_reading(args, info))
    if args.split in ("test", "train"):
        if "digest" not in info and info.get("data") != args.data:   # a model from before digests: by name only
            raise InputError(f"--split {args.split} replays the training run's split, but the model was trained on "
                             f"{info.get('data')!r}, not {args.data!r}")
        _check_same_rows(table, info, args.data)
        if pre.missing == "drop":      # the run split the table after leaving out its incomplete rows
            table, _ = datasets.complete_rows(table, [c for c, why in pre.dropped.items() if why == "--drop"])
        train, test = datasets.held_out_rows(table, test_split=info.get("test_split"),
                                             task=info.get("task", pre.task), seed=info.get("seed", 0))
        table = table.subset(test if args.split == "test" else train)
    for text in table.notes:
        note(text)
    return table


def _check_same_rows(table, info: dict, data: str) -> None:
    """--split test finds the run's test rows again only in the very rows the run split: the model file keeps a
    digest of them; other data (more rows, the rows reordered, other values) is refused, saying which."""
    if "digest" not in info or not hasattr(table, "digest"):
        return
    now = table.digest()
    if now["digest"] == info["digest"]:
        return
    if now["rows"] != info.get("rows"):
        what = f"it has {now['rows']:,} rows where the run split {info.get('rows'):,}"
    elif now["digest_any_order"] == info.get("digest_any_order"):
        what = "it holds the same rows in another order"
    else:
        what = "other values in its rows"
    raise InputError(f"--split test: {data} is not the data the model's run split ({what}), so its test rows would "
                     "not be the run's; evaluate every row without --split, or give the data as it was")


def _missing_cells(pre, table, rows_kept: bool = False):
    """Apply the model's policy for missing cells to ``table``: refuse (saying where), leave out incomplete rows
    (evaluate; ``rows_kept`` for predict, which writes no prediction for them), or say what will be imputed.
    Returns the table and the mask of incomplete rows (for predict)."""
    from .. import missing as missing_values
    from ..errors import DataError

    found = pre.missing_cells(table.features)
    incomplete = missing_values.incomplete(found, len(table.features))
    if not found:
        return table, incomplete
    described = missing_values.describe(found, len(table.features), table.lines)
    if pre.missing == "refuse":
        raise DataError(f"{table.source or table.name}: {described}; the model was trained with --missing refuse")
    if pre.missing == "drop":
        if rows_kept:
            note(f"{described}; those rows get no prediction (the model was trained with --missing drop)")
            return table, incomplete
        note(f"{described}; those rows are left out (the model was trained with --missing drop)")
        return table.subset(np.flatnonzero(~incomplete)), incomplete[~incomplete]
    note(f"{described}; imputed as in training (numbers: the training median; text: the missing category, or zeros "
         "where training had none)")
    return table, np.zeros(len(incomplete), dtype=bool)


def _notice_unseen(pre, table) -> None:
    from .notes import note, unseen_notice

    text = unseen_notice(pre, table.features)
    if text:
        note(text)


def model_input(model, X):
    """Feature rows as the model takes them: reshaped to its sample shape for a CNN (e.g. 1×28×28)."""
    if model.input_shape is not None and len(model.input_shape) > 1 and None not in model.input_shape:
        return X.reshape(len(X), *model.input_shape)
    return X


def evaluate(args) -> int:
    from .train import scores

    checkpoint = _load_model(args.model)
    model, pre = checkpoint.model, checkpoint.model.preprocessing
    table = _rows(args, checkpoint)
    _unknown_columns(pre, table)
    table, _ = _missing_cells(pre, table)
    X = model_input(model, pre.transform(table.features, table.source, table.lines))
    y = pre.encode_target(table.target, table.source, table.lines)
    _notice_unseen(pre, table)
    loss = checkpoint.info.get("loss", "cross_entropy" if pre.task == "classification" else "mse")
    rows = [("rows", len(X))] + scores(model, X, y, loss, pre)
    print_table(["metric", "value"], rows)
    return 0


def predict(args) -> int:
    """Predictions for every row of ``--data`` (a row the model cannot predict — a missing cell under --missing
    drop — gets an empty one), written to ``--out`` (``-``: standard output, the notes then on stderr)."""
    import pandas as pd

    from .. import datasets
    from ..layers import Softmax
    from . import notes

    to_stdout = args.out == "-"
    if to_stdout:
        notes.TO_STDERR = True
    elif os.path.isdir(args.out):
        raise InputError(f"--out {args.out}: is a folder; give a CSV file name")
    else:
        refuse_overwriting_inputs("--out", args.out, model_file=args.model, data_file=args.data)
    checkpoint = _load_model(args.model)
    model, pre = checkpoint.model, checkpoint.model.preprocessing
    if args.split == "test" or args.data in datasets.BUILTIN:
        table = _rows(args, checkpoint)
    elif args.data.lower().endswith(".npz"):
        table = datasets.load(args.data)
    else:
        table = _features_only(args.data, pre, **_reading(args, checkpoint.info))
    ids = None
    if args.id is not None:
        from ..datasets.files import column_named

        ids = table.features[column_named(args.id, table.features.columns, f"--id: {table.source or args.data}")]
    _unknown_columns(pre, table, keep=args.id)
    table, skipped = _missing_cells(pre, table, rows_kept=True)
    rows = np.flatnonzero(~skipped)
    X = model_input(model, pre.transform(table.features.iloc[rows], table.source,
                                         None if table.lines is None else table.lines[rows]))
    _notice_unseen(pre, table)
    output = model.predict(X).astype(np.float64) if len(rows) else np.empty((0, pre.n_outputs))
    frame = pd.DataFrame(index=range(len(table.features)))
    if ids is not None:
        frame[ids.name] = ids.to_numpy()
    if pre.task == "classification":
        labels = np.full(len(frame), None, dtype=object)
        labels[rows] = np.asarray(pre.class_names, dtype=object)[output.argmax(axis=1)]
        frame["prediction"] = labels
        probabilities = np.full((len(frame), len(pre.class_names)), np.nan)
        probabilities[rows] = Softmax().forward(output)
        for index, name in enumerate(pre.class_names):
            frame[f"probability_{name}"] = probabilities[:, index]
    else:
        values = np.full(len(frame), np.nan)
        values[rows] = pre.decode_output(output)
        frame["prediction"] = values
    if len(table.target) == len(frame):  # labelled rows: keep the true target next to the prediction
        frame[pre.target_name or "target"] = table.target.to_numpy()
    if to_stdout:
        frame.to_csv(sys.stdout, index=False)
        return 0
    try:
        with atomic_path(args.out) as temporary:
            frame.to_csv(temporary, index=False)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {args.out}: {exc.strerror}") from None
    print(f"wrote {plural(len(frame), 'prediction')} to {args.out}")
    return 0


def _unknown_columns(pre, table, keep=None) -> None:
    """Columns the model does not know (an ID column …) are not used: said in a note."""
    unknown = [c for c in pre.check_columns(table.features, table.source) if c != keep]
    if unknown:
        from ..errors import shorten

        note(f"column{'s' if len(unknown) > 1 else ''} {shorten(unknown, 4)} not used: the model was not trained "
             "on them" + (" (--id COL copies one into the predictions)" if keep is None else ""))


def _features_only(path: str, pre, header=None, decimal=None):
    """A CSV for prediction: the model's feature columns, and the target column if it is there."""
    import pandas as pd

    from ..datasets.csvfile import read_csv
    from ..datasets.table import Table

    data = read_csv(path, header=header, decimal=decimal)
    frame = data.frame
    target = frame[pre.target_name] if pre.target_name in frame.columns else None
    features = frame.drop(columns=[pre.target_name]) if target is not None else frame
    table = Table(os.path.basename(path), features, target if target is not None else pd.Series(dtype=object),
                  pre.task, source=path, lines=data.lines, notes=data.notes)
    for text in table.notes:
        note(text)
    return table


def export(args) -> int:
    from ..export import export_onnx

    out = args.out or os.path.splitext(args.model)[0] + ".onnx"
    if os.path.isdir(out):
        raise InputError(f"--out {out}: is a folder; give a file name")
    refuse_overwriting_inputs("--out", out, model_file=args.model)
    model = _checkpoint(args.model).model
    try:
        export_onnx(model, out, opset=args.opset)
    except (ValueError, TypeError) as exc:        # an opset out of range: a usage error, said as such
        raise InputError(f"--opset {args.opset}: {exc}" if args.opset is not None else str(exc)) from None
    inputs = "numbers and text columns" if model.preprocessing is not None and model.preprocessing.categories else \
        "numbers" if model.preprocessing is not None else "X"
    print(f"wrote {out} (inputs: {inputs}; run it with onnxruntime)")
    return 0


def summary(args) -> int:
    checkpoint = _checkpoint(args.model)
    model = checkpoint.model
    say(model.summary())
    pre = model.preprocessing
    if pre is not None:
        say(f"task: {pre.task}; inputs: {pre.n_inputs} from columns {', '.join(pre.feature_columns[:8])}"
            f"{', …' if len(pre.feature_columns) > 8 else ''}")
        if pre.class_names:
            say(f"classes: {', '.join(pre.class_names)}")
    if checkpoint.info:
        say("trained on: " + ", ".join(f"{k}={v}" for k, v in checkpoint.info.items() if v is not None))
    if checkpoint.optimizer is not None:
        say(f"optimizer: {checkpoint.optimizer!r}, after {checkpoint.step} epochs")
    return 0


def datasets(args) -> int:
    from .. import datasets as data

    print_table(["name", "samples", "features", "task", "description"], data.catalogue())
    return 0


def _saved_model_gradcheck(args):
    """(model, X, y, loss) to check a saved model: its layers in float64 (dp.gradcheck copies them), random
    inputs of its sample shape, targets for its loss (the run's, else the task's)."""
    import deltaprop as dp

    checkpoint = _checkpoint(args.model)
    model = checkpoint.model
    if model.input_shape is None or None in model.input_shape:
        raise InputError(f"{args.model}: the model does not fix the shape of its input; check it from Python with "
                         "dp.gradcheck(model, X, y, loss=...)")
    pre = model.preprocessing
    name = checkpoint.info.get("loss") or ("mse" if pre is not None and pre.task == "regression" else "cross_entropy")
    try:
        loss = dp.losses.get(name)
    except ValueError:
        raise InputError(f"{args.model}: info.loss {name!r} is not a loss deltaprop knows") from None
    rng = np.random.default_rng(args.seed)
    batch = max(args.batch_size, 3 if model.needs_batch_statistics() else 1)
    X = rng.normal(size=(batch, *model.input_shape))
    return model, X, _random_targets(loss, rng, batch, model.n_out or 1), loss


def _random_targets(loss, rng, batch: int, n_out: int) -> np.ndarray:
    """Targets a gradient check can use with ``loss``: class indices, 0/1 labels, or numbers."""
    import deltaprop as dp

    if isinstance(loss, dp.CrossEntropy):
        return rng.integers(0, n_out, size=batch)
    if isinstance(loss, dp.BinaryCrossEntropy):
        return rng.integers(0, 2, size=(batch, n_out)).astype(float)
    return rng.normal(size=(batch, n_out))


def _gradcheck_result(model, report, tolerance: float, detail: str = "") -> int:
    """The check's table, then one line: passed (exit 0) or FAILED (on stderr, exit 1)."""
    say(model.summary())
    print(report.table(tolerance))
    if report.worst > tolerance:
        print(f"gradient check FAILED: worst relative error {report.worst:.2e} > {tolerance:g}", file=sys.stderr)
        return 1
    print(f"gradient check passed: worst relative error {report.worst:.2e} <= {tolerance:g}{detail}")
    return 0


def gradcheck(args) -> int:
    import deltaprop as dp

    from .train import parse_layers

    if args.model is not None:
        model, X, y, loss = _saved_model_gradcheck(args)
        report = dp.gradcheck(model, X, y, loss=loss, max_checks=200, seed=args.seed)
        return _gradcheck_result(model, report, args.tolerance,
                                 f" (float64, {len(X)} random samples, at most 200 elements per tensor)")
    hidden = parse_layers(args.layers)
    normalization = None if args.normalization == "none" else args.normalization
    if args.batch_size < 1 or args.inputs < 1 or args.outputs < 1:
        raise InputError("--batch-size, --inputs and --outputs must be at least 1")
    if args.seed < 0:
        raise InputError(f"--seed must be 0 or more, got {args.seed}")
    if not (args.tolerance > 0 and np.isfinite(args.tolerance)):
        raise InputError(f"--tolerance must be a positive number, got {args.tolerance}")
    if normalization == "batchnorm" and args.batch_size < 3:
        raise InputError("--batch-size must be at least 3 with batchnorm (N = 2 normalizes every value to ±1)")
    model = dp.mlp([args.inputs, *hidden, args.outputs], activation=args.activation, normalization=normalization,
                   seed=args.seed, dtype="float64")
    rng = np.random.default_rng(args.seed)
    X = rng.normal(size=(args.batch_size, args.inputs))
    loss = dp.losses.get(args.loss)
    y = _random_targets(loss, rng, args.batch_size, args.outputs)
    return _gradcheck_result(model, dp.gradcheck(model, X, y, loss=loss), args.tolerance)


def report(args) -> int:
    from ..diagnostics.report import write_report

    path = write_report(args.run_dir)
    print(f"wrote {path}")
    return 0
