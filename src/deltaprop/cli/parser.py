"""The argument parser of every ``deltaprop`` subcommand."""
from __future__ import annotations

import argparse
import sys

ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "softplus", "identity"]
LOSSES = ["auto", "cross_entropy", "mse", "mae", "huber"]
OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad"]

EXIT_CODES = """exit codes:
  0    success
  1    internal error (a bug in deltaprop; the traceback is printed)
  2    bad usage or bad input, or a file that cannot be read or written (one line on stderr)
  3    training failed: it diverged (NaN or infinite loss); nothing is written
  130  stopped by Ctrl-C, 143 stopped by SIGTERM (during training: after the current step, run saved)"""

TRAIN_EXAMPLES = """examples:
  deltaprop train                                          an MLP on the built-in digits
  deltaprop train --data pets.csv --target animal --layers 64,32 --out runs/pets
  deltaprop train --data prices.csv.gz --drop id --keep city   leave out / keep text columns
  deltaprop train --config runs/pets/config.toml --lr 3e-3    a run's settings again, one changed
  deltaprop train --data diabetes --optimizer sgd --lr 0.01 --clip-norm 1.0
  deltaprop train --resume runs/pets                        continue a killed or interrupted run

settings marked [auto] follow the size of the data: with fewer than 1,000 training rows, batch 16,
validation share 0.2, at most 300 epochs, patience 20 and dropout 0.1 (below 100 rows no validation share:
all 300 epochs); otherwise batch 32, 0.1, 100, 10 and no dropout.

""" + EXIT_CODES


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``deltaprop: error: ...``) and exit code 2."""

    def error(self, message):
        print(f"deltaprop: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def _column_list(text: str) -> list:
    return [name.strip() for name in text.split(",") if name.strip()]


def _train_options(parser) -> None:
    # every default is None: the value comes from --config, else from config.SETTINGS
    add = parser.add_argument
    add("--data", help="a built-in dataset name (see 'deltaprop datasets'), a .csv, .csv.gz, .tsv or .npz file, or a "
        "folder with X.npy and y.npy [digits]")
    add("--target", help="the CSV's target column [the last column]")
    add("--task", choices=["auto", "classification", "regression"], help="[auto: from the target column]")
    add("--no-header", action="store_true", help="the CSV has no header row: columns are named column1, column2, …")
    add("--header", action="store_true", help="line 1 of the CSV is its header, even if it holds numbers [decided "
        "from line 1]")
    add("--decimal", choices=["auto", "point", "comma"], help="the decimal mark of numbers written with separators "
        "(57,690 or 3,14) [auto: from the cells; a comma in semicolon and tab files]")
    add("--missing", choices=["auto", "impute", "drop", "refuse"],
        help="missing cells (empty, NA, #N/A, …): impute (the training median and a missing indicator; text: a "
             "category of its own), drop (leave out incomplete rows), refuse [auto: impute columns missing at most "
             "half their cells, refuse others]")
    add("--drop", type=_column_list, action="extend", metavar="COL[,COL]",
        help="leave these feature columns out")
    add("--keep", type=_column_list, action="extend", metavar="COL[,COL]",
        help="one-hot encode these text columns even if they look like identifiers (more than half the rows "
             "distinct) or have more than 100 categories")
    add("--layers", help="hidden layer sizes, comma-separated, e.g. 128,64 [128,64]")
    add("--activation", choices=ACTIVATIONS, metavar="NAME", help=f"hidden activation: {', '.join(ACTIVATIONS)} [relu]")
    add("--normalization", choices=["none", "batchnorm", "layernorm"], help="after each hidden Dense [none]")
    add("--dropout", type=float, help="dropout rate after each hidden activation [auto]")
    add("--loss", choices=LOSSES, metavar="NAME", help=f"{', '.join(LOSSES)} [auto: cross_entropy or mse]")
    add("--optimizer", choices=OPTIMIZERS, metavar="NAME", help=f"{', '.join(OPTIMIZERS)} [adam]")
    add("--lr", type=float, help="learning rate [1e-3]")
    add("--epochs", type=int, help="maximum number of epochs [auto]")
    add("--batch-size", type=int, help="mini-batch size [auto]")
    add("--val-split", type=float, help="fraction of the training rows held out for validation (stratified for "
        "classes) [auto]")
    add("--test-split", type=float, help="fraction held out for the final test [the dataset's default, 0.2]")
    add("--patience", type=int, help="early-stopping patience in epochs, 0 to train all epochs [auto]")
    add("--clip-norm", type=float, help="clip the gradient's global norm to this value before each update [off]")
    add("--seed", type=int, help="seed of the split, the initial weights and the shuffling [0]")
    add("--dtype", choices=["float32", "float64"], help="[float32]")
    add("--out", help="output folder [runs/<dataset>-<timestamp>]")
    add("--overwrite", action="store_true", help="replace the run already in --out")
    add("--resume", metavar="RUN_DIR", help="continue a run that was killed or stopped, with its own settings")
    add("--config", help="a config.toml written by an earlier run; options given here override it")
    add("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    add("--diagnose", action="store_true",
        help="gradient-flow findings before and after training, per-layer monitoring, report.html")
    add("--sharpness", type=int, metavar="N", help="measure λ_max, the Hessian's largest eigenvalue, every N epochs on "
        "1,000 training rows (40 backward passes each): history.csv and the report show it beside 2/lr [0: off]")
    add("--conv", metavar="SPEC", help="a CNN: convolutions C:K[:S[:P]] (channels, kernel, stride [1], padding "
        "[(K-1)/2]), comma-separated, e.g. 25:5:2:1,25:3:2:1; then --layers Dense layers (none: --layers none)")
    add("--rnn", metavar="SPEC", help="a recurrent network: layers KIND:H[:bi] (rnn, gru or lstm; H units; bi: "
        "bidirectional), comma-separated, e.g. gru:64 or lstm:32:bi,lstm:32; then --layers Dense layers (none: "
        "--layers none); sequences from --input-shape T,F, a .npy folder's X of shape (N, T, F), or mnist1d (40,1)")
    add("--input-shape", metavar="SHAPE", help="a sample's shape: for --conv C,L or C,H,W [digits 1,8,8; mnist5k "
        "1,28,28; mnist1d 1,40]; for --rnn T,F (steps, features) [mnist1d 40,1]")
    add("--pool", choices=["none", "max", "avg"], help="a pooling of size 2 after each convolution [none]")
    add("--distributed", action="store_true",
        help="data-parallel training under mpiexec -n N (the one-process result; rank 0 prints and writes)")
    add("--threads", type=int, metavar="N", help="threads for deltaprop's passes and BLAS together [the cores this "
        "process may use, or DELTAPROP_NUM_THREADS]; under mpiexec, per rank: keep ranks × threads ≤ cores")


def build_parser() -> argparse.ArgumentParser:
    from . import commands, explain, landscape, playground, train

    parser = OneLineParser(prog="deltaprop", description="Train and use neural networks by backpropagation.",
                           epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="store_true", help="print the version and exit")
    parser.set_defaults(run=commands.version_or_help(parser), command="")
    sub = parser.add_subparsers(title="commands", parser_class=OneLineParser)
    parser.commands = {}   # name → its parser, for the generated reference (deltaprop.cli.reference)

    def command(name, help_text, run, **options):
        p = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                           formatter_class=argparse.RawDescriptionHelpFormatter, **options)
        p.set_defaults(run=run, command=name)
        parser.commands[name] = p
        return p

    p = command("train", "train an MLP (or a CNN with --conv) on a dataset, a CSV/NPZ file or a .npy folder", train.run,
                epilog=TRAIN_EXAMPLES)
    _train_options(p)

    p = command("evaluate", "metrics of a saved model on labelled data", commands.evaluate, epilog=EXIT_CODES)
    p.add_argument("model", help="a model.safetensors file written by 'deltaprop train'")
    p.add_argument("--data", required=True, help="a built-in dataset name or a .csv/.csv.gz/.npz file")
    p.add_argument("--target", help="the CSV's target column [the model's]")
    p.add_argument("--no-header", action="store_true", help="the CSV has no header row [as in training]")
    p.add_argument("--split", choices=["all", "test"], default="all",
                   help="'test': only the rows the model's training run held out (same data and seed)")

    p = command("predict", "predictions of a saved model, written to a CSV", commands.predict, epilog=EXIT_CODES)
    p.add_argument("model", help="a model.safetensors file written by 'deltaprop train'")
    p.add_argument("--data", required=True, help="a built-in dataset name or a .csv/.csv.gz/.npz file")
    p.add_argument("--out", default="predictions.csv", help="output CSV, or - for standard output [predictions.csv]")
    p.add_argument("--id", metavar="COL", help="a column of the data (an identifier) to copy into the predictions")
    p.add_argument("--no-header", action="store_true", help="the CSV has no header row [as in training]")
    p.add_argument("--split", choices=["all", "test"], default="all",
                   help="'test': only the rows the model's training run held out")

    p = command("export", "write a saved model as ONNX, its preprocessing inside, for onnxruntime and others",
                commands.export, epilog=EXIT_CODES)
    p.add_argument("model", help="a model.safetensors file")
    p.add_argument("--out", help="the ONNX file to write [the model's name with .onnx]")
    p.add_argument("--opset", type=int, help="ONNX opset [17, or 19 with text columns]")

    p = command("summary", "layers, shapes and parameter counts of a saved model", commands.summary)
    p.add_argument("model", help="a model.safetensors file")

    command("datasets", "list the built-in datasets", commands.datasets)

    p = command("gradcheck", "check backpropagation against finite differences for a model", commands.gradcheck)
    p.add_argument("model", nargs="?", help="a saved model file to check (its layers, in float64, on random inputs); "
                   "without it, an MLP built from the options below")
    p.add_argument("--inputs", type=int, default=5, help="input features [5]")
    p.add_argument("--outputs", type=int, default=3, help="outputs [3]")
    p.add_argument("--layers", default="8,6", help="hidden sizes [8,6]")
    p.add_argument("--activation", default="tanh", choices=ACTIVATIONS, metavar="NAME",
                   help=f"{', '.join(ACTIVATIONS)} [tanh]")
    p.add_argument("--normalization", choices=["none", "batchnorm", "layernorm"], default="none",
                   help="after each hidden Dense [none]")
    p.add_argument("--loss", default="cross_entropy", choices=LOSSES[1:], metavar="NAME",
                   help="cross_entropy, mse, mae, huber [cross_entropy]")
    p.add_argument("--batch-size", type=int, default=4, help="[4]")
    p.add_argument("--seed", type=int, default=0, help="[0]")
    p.add_argument("--tolerance", type=float, default=1e-6, help="largest relative error that passes [1e-6]")

    p = command("report", "write report.html for a run folder (curves, gradient flow, findings)", commands.report)
    p.add_argument("run_dir", help="a folder written by 'deltaprop train'")

    p = command("landscape", "the loss landscape and curvature of a trained run: landscape-1d.png, landscape-2d.png "
                "and curvature.json in its folder", landscape.run, epilog=EXIT_CODES)
    p.add_argument("run_dir", help="a folder written by 'deltaprop train'")
    p.add_argument("--data", help="the run's data, where it is not where the run read it [the run's]")
    p.add_argument("--target", help="the CSV's target column [the run's]")
    p.add_argument("--samples", type=int, default=2000,
                   help="training rows to measure on, drawn at random (all if fewer) [2000]")
    p.add_argument("--points", type=int, default=41, help="points along the line, α in [-1, 1] [41]")
    p.add_argument("--grid", type=int, default=21, help="points per side of the plane's grid over [-1, 1]² [21]")
    p.add_argument("--eigenvalues", type=int, default=3, help="how many of the Hessian's top eigenvalues [3]")
    p.add_argument("--lanczos-steps", type=int, default=20,
                   help="Lanczos steps for the eigenvalues, 2 backward passes each [20]")
    p.add_argument("--trace-vectors", type=int, default=30,
                   help="Rademacher vectors of the Hutchinson trace, 2 backward passes each [30]")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample, the directions and the vectors [0]")
    p.add_argument("--quiet", action="store_true", help="no progress bars")

    p = command("playground", "a web page to train small networks on 2-D data and watch every δ and gradient "
                "(needs deltaprop[playground])", playground.run, epilog=EXIT_CODES)
    p.add_argument("--port", type=int, default=8765, help="the port on 127.0.0.1; 0 picks a free one [8765]")
    p.add_argument("--no-browser", action="store_true", help="print the URL only, open no browser")

    p = command("explain", "one backpropagation step of a 2-2-1 network, with every number", explain.run)
    p.add_argument("--lr", type=float, default=0.5, help="learning rate α [0.5]")
    p.add_argument("--input", default="0.05,0.10", help="the two inputs [0.05,0.10]")
    p.add_argument("--target", default="0.01", help="the target [0.01]")
    p.add_argument("--activation", default="sigmoid", choices=ACTIVATIONS, metavar="NAME",
                   help=f"hidden activation: {', '.join(ACTIVATIONS)} [sigmoid]")
    p.add_argument("--hidden", type=int, default=2, help="hidden units [2]")
    p.add_argument("--seed", type=int, help="random initial weights from this seed [the classic example's]")
    return parser
