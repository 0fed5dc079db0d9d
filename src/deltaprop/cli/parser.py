"""The argument parser of every ``deltaprop`` subcommand."""
from __future__ import annotations

import argparse
import sys


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``deltaprop: error: ...``) and exit code 2."""

    def error(self, message):
        print(f"deltaprop: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def _train_options(parser) -> None:
    # every default is None: the value comes from --config, else from train.DEFAULTS
    add = parser.add_argument
    add("--data", help="a built-in dataset name (see 'deltaprop datasets') or a .csv/.npz file [digits]")
    add("--target", help="the CSV's target column [the last column]")
    add("--task", choices=["auto", "classification", "regression"], help="[auto: from the target column]")
    add("--layers", help="hidden layer sizes, comma-separated, e.g. 128,64 [128,64]")
    add("--activation", help="hidden activation: relu, leaky_relu, elu, gelu, sigmoid, tanh, softplus [relu]")
    add("--normalization", choices=["none", "batchnorm", "layernorm"], help="after each hidden Dense [none]")
    add("--dropout", type=float, help="dropout rate after each hidden activation [0]")
    add("--loss", help="auto, cross_entropy, mse, mae, huber [auto: cross_entropy or mse]")
    add("--optimizer", help="sgd, adam, adamw, rmsprop, adagrad [adam]")
    add("--lr", type=float, help="learning rate [1e-3]")
    add("--epochs", type=int, help="maximum number of epochs [40]")
    add("--batch-size", type=int, help="mini-batch size [32]")
    add("--val-split", type=float, help="fraction of the training rows held out for validation [0.1]")
    add("--test-split", type=float, help="fraction held out for the final test [the dataset's default, 0.2]")
    add("--patience", type=int, help="early-stopping patience in epochs, 0 to train all epochs [10]")
    add("--seed", type=int, help="seed of the split, the initial weights and the shuffling [0]")
    add("--dtype", choices=["float32", "float64"], help="[float32]")
    add("--out", help="output folder [runs/<dataset>-<timestamp>]")
    add("--config", help="a config.toml written by an earlier run; options given here override it")
    add("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    add("--diagnose", action="store_true",
        help="gradient-flow findings before and after training, per-layer monitoring, report.html")


def build_parser() -> argparse.ArgumentParser:
    from . import commands, explain, train

    parser = OneLineParser(prog="deltaprop", description="Train and use neural networks by backpropagation.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.set_defaults(run=commands.version_or_help(parser))
    sub = parser.add_subparsers(title="commands", parser_class=OneLineParser)

    p = sub.add_parser("train", help="train an MLP on a dataset or a CSV/NPZ file")
    _train_options(p)
    p.set_defaults(run=train.run)

    p = sub.add_parser("evaluate", help="metrics of a saved model on labelled data")
    p.add_argument("model", help="a model.safetensors file")
    p.add_argument("--data", required=True, help="a built-in dataset name or a .csv/.npz file")
    p.add_argument("--target", help="the CSV's target column [the model's]")
    p.add_argument("--split", choices=["all", "test"], default="all",
                   help="'test': only the rows the model's training run held out (same data and seed)")
    p.set_defaults(run=commands.evaluate)

    p = sub.add_parser("predict", help="predictions of a saved model, written to a CSV")
    p.add_argument("model", help="a model.safetensors file")
    p.add_argument("--data", required=True, help="a built-in dataset name or a .csv/.npz file")
    p.add_argument("--out", default="predictions.csv", help="output CSV [predictions.csv]")
    p.add_argument("--split", choices=["all", "test"], default="all",
                   help="'test': only the rows the model's training run held out")
    p.set_defaults(run=commands.predict)

    p = sub.add_parser("summary", help="layers, shapes and parameter counts of a saved model")
    p.add_argument("model")
    p.set_defaults(run=commands.summary)

    p = sub.add_parser("datasets", help="list the built-in datasets")
    p.set_defaults(run=commands.datasets)

    p = sub.add_parser("gradcheck", help="check backpropagation against finite differences for a model")
    p.add_argument("--inputs", type=int, default=5, help="input features [5]")
    p.add_argument("--outputs", type=int, default=3, help="outputs [3]")
    p.add_argument("--layers", default="8,6", help="hidden sizes [8,6]")
    p.add_argument("--activation", default="tanh", help="[tanh]")
    p.add_argument("--normalization", choices=["none", "batchnorm", "layernorm"], default="none")
    p.add_argument("--loss", default="cross_entropy", help="cross_entropy, mse, mae, huber [cross_entropy]")
    p.add_argument("--batch-size", type=int, default=4, help="[4]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tolerance", type=float, default=1e-6, help="largest relative error that passes [1e-6]")
    p.set_defaults(run=commands.gradcheck)
    p = sub.add_parser("report", help="write report.html for a run folder (curves, gradient flow, findings)")
    p.add_argument("run_dir", help="a folder written by 'deltaprop train'")
    p.set_defaults(run=commands.report)

    p = sub.add_parser("explain", help="one backpropagation step of a 2-2-1 network, with every number")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate α [0.5]")
    p.add_argument("--input", default="0.05,0.10", help="the two inputs [0.05,0.10]")
    p.add_argument("--target", default="0.01", help="the target [0.01]")
    p.add_argument("--activation", default="sigmoid", help="hidden activation [sigmoid]")
    p.add_argument("--hidden", type=int, default=2, help="hidden units [2]")
    p.add_argument("--seed", type=int, help="random initial weights from this seed [the classic example's]")
    p.set_defaults(run=explain.run)
    return parser
