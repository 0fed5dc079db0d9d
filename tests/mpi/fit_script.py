"""Run by tests/test_distributed.py under mpiexec (or alone): train, then rank 0 writes what it got.

    python fit_script.py OUT.npz [--distributed] [--kill-rank R --kill-epoch E] [--fail-rank R] [--seed-by-rank]
        [--perturb-by-rank] [--recurrent]
"""
import argparse
import os
import signal
import socket
import sys

import numpy as np

import deltaprop as dp


def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(203, 6))   # 203 rows: the last batch of 32 is partial (11 rows)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 1)
    return X, y


def network(seed=3):
    # no bias before BatchNorm: its gradient is zero up to rounding, which Adam would magnify into steps
    return dp.Sequential([dp.Dense(6, 24, bias=False), dp.BatchNorm(24), dp.ReLU(), dp.Dropout(0.3), dp.Dense(24, 16),
                          dp.Tanh(), dp.Dropout(0.2), dp.Dense(16, 3)], seed=seed, dtype="float64")


class Kill(dp.Callback):
    """Kill this process (SIGKILL: no cleanup, as a crashed node) at the end of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs):
        if epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


class Fail(dp.Callback):
    def on_batch_end(self, batch, logs):
        if batch == 3:
            raise RuntimeError("a failure on one rank")


def recurrent_network(seed=3):
    """A bidirectional GRU over the 6 features read as 3 steps of 2, with Dropout after it."""
    return dp.Sequential([dp.GRU(2, 8, bidirectional=True), dp.Dropout(0.2), dp.Dense(16, 3)], seed=seed,
                         dtype="float64")


def train(distributed, callbacks=(), model_seed=3, perturbation=0.0, recurrent=False):
    X, y = data()
    if recurrent:
        X = X.reshape(len(X), 3, 2)
    model = (recurrent_network if recurrent else network)(model_seed)
    model.parameters().values[...] += perturbation
    stopping = dp.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(X, y, loss="cross_entropy", optimizer=dp.Adam(lr=1e-2), epochs=8, batch_size=32,
                        validation_split=0.2, metrics=["accuracy"], seed=11, verbose=0, distributed=distributed,
                        callbacks=[stopping, *callbacks])
    return model, history


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--distributed", action="store_true")
    parser.add_argument("--kill-rank", type=int)
    parser.add_argument("--kill-epoch", type=int, default=1)
    parser.add_argument("--fail-rank", type=int)
    parser.add_argument("--seed-by-rank", action="store_true", help="model seeds differ by rank")
    parser.add_argument("--perturb-by-rank", action="store_true", help="initial weights differ by rank")
    parser.add_argument("--recurrent", action="store_true", help="a GRU network on the rows read as sequences")
    args = parser.parse_args()
    rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", 0))
    callbacks = []
    if args.kill_rank == rank:
        callbacks.append(Kill(args.kill_epoch))
    if args.fail_rank == rank:
        callbacks.append(Fail())
    model, history = train(args.distributed, callbacks, model_seed=3 + rank if args.seed_by_rank else 3,
                           perturbation=0.1 * rank if args.perturb_by_rank else 0.0, recurrent=args.recurrent)
    hosts = [socket.gethostname()]
    if args.distributed and "OMPI_COMM_WORLD_RANK" in os.environ:
        from mpi4py import MPI
        hosts = MPI.COMM_WORLD.allgather(hosts[0])
    if rank == 0:
        with open(args.out + ".hosts", "w") as file:
            file.write(" ".join(hosts))
        arrays = {f"param {p.name}": p.value for p in model.parameters()}
        arrays.update({f"state {i}.{k}": v for i, layer in enumerate(model.layers) for k, v in layer.state().items()})
        arrays.update({f"history {k}": np.asarray(v) for k, v in history.items() if k != "seconds"})
        np.savez(args.out, **arrays)
    return 0


if __name__ == "__main__":
    sys.exit(main())
