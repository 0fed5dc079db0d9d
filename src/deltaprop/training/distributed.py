"""Data-parallel training over MPI: every process trains on its slice of each global mini-batch.

``fit(..., distributed=True)`` under ``mpiexec -n N``: every process (rank) runs the same script on the
same data and seeds, so all draw the same epoch permutation. Each global mini-batch of ``batch_size`` rows
is cut into N contiguous slices, one per rank (`slice()`). A rank runs forward and
backward on its ``n_r`` rows with the loss gradient weighted by ``n_r / n`` — the gradient of the global
batch's mean loss with respect to its rows — so that the sum over ranks of the parameter gradients is the
one-process gradient::

    ∂L/∂θ = Σ_r ∂L/∂θ|rows of r,      L = Σ_r (n_r / n) · L_r   (L_r: the mean loss over rank r's rows)

The sum is **one** ``MPI_Allreduce`` per step over ``ParameterList.reduce_buffer`` (every gradient, then
the weighted loss, and any rank's vote to stop). BatchNorm and Dropout see the global batch through a `BatchShard`.
Every rank then applies the same update to the same weights, so the weights stay equal without being sent.

Outside mpiexec (or with one rank), `Replicas` runs the plain one-process step.
"""
from __future__ import annotations

import contextlib
import os
import sys
import traceback

import numpy as np

from ..errors import DataError, InputError, one_line
from ..shard import BatchShard
from .step import train_step

#: environment variables an MPI launcher sets in the processes it starts (Open MPI, PMIx, MPICH/Hydra)
LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS")


class Replicas:
    """One process holds every row: the plain training step, nothing to combine."""

    rank = 0
    size = 1

    @property
    def is_chief(self) -> bool:
        """The rank that prints, draws progress bars and writes files."""
        return self.rank == 0

    def slice(self, n_rows: int) -> tuple[int, int]:
        """This rank's rows ``start:stop`` of a global batch of ``n_rows``."""
        return 0, n_rows

    def train_step(self, model, loss, X_batch, y_batch, start: int, total: int, stop_vote: bool = False):
        """Forward, loss, backward on this rank's rows; returns (the global batch's loss, stop agreed)."""
        return train_step(model, loss, X_batch, y_batch), stop_vote

    def gather_batches(self, outputs: list) -> list:
        """Each global batch's outputs in row order, from every rank's list of its slices' outputs."""
        return outputs

    def predict(self, model, X) -> np.ndarray:
        """``model.predict(X)``, the rows shared among the ranks."""
        return model.predict(X)

    def agree(self, flag: bool) -> bool:
        """True on every rank when it is True on any."""
        return bool(flag)

    def allgather(self, value) -> list:
        """Every rank's ``value``, in rank order, on every rank."""
        return [value]

    def broadcast(self, value):
        """Rank 0's ``value`` on every rank."""
        return value

    def start(self, model, identity: dict | None = None) -> None:
        """Make the model equal on every rank before the first step."""

    @contextlib.contextmanager
    def guard(self):
        """Where a failure of one rank must end all of them."""
        yield

    @contextlib.contextmanager
    def together(self):
        """A block every rank runs (reading its data, checking it): a problem on any rank is raised on every
        rank at its end, so that none waits for the others in a later sum. One process: nothing to agree on."""
        yield


class MPIReplicas(Replicas):
    """The ranks of an MPI communicator (mpi4py), each holding a slice of every global batch."""

    def __init__(self, comm):
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    def slice(self, n_rows: int) -> tuple[int, int]:
        """Contiguous slices, the first ``n_rows mod N`` ranks one row longer."""
        base, extra = divmod(n_rows, self.size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (self.rank < extra)

    def sum(self, local: np.ndarray) -> np.ndarray:
        """Σ over the ranks of ``local`` (every rank gets the same array)."""
        local = np.ascontiguousarray(local)
        total = np.empty_like(local)
        self.comm.Allreduce(local, total, op=self.MPI.SUM)
        return total

    def train_step(self, model, loss, X_batch, y_batch, start: int, total: int, stop_vote: bool = False):
        n_local = len(X_batch)
        model.set_shard(BatchShard(start, start + n_local, total, self.sum))
        prediction = model.forward_unchecked(X_batch, training=True)
        weight = n_local / total
        if n_local:
            value = loss.forward(prediction, y_batch) * weight
            grad = loss.backward()
            grad = grad * grad.dtype.type(weight)
        else:   # a batch with fewer rows than ranks: this rank still takes part in every sum
            value, grad = 0.0, np.zeros_like(prediction)
        model.backward(grad, input_gradient=False)
        buffer = model.parameters().reduce_buffer        # [∂L/∂θ of every parameter …, weighted loss, stop votes]
        buffer[-2:] = value, float(stop_vote)
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        model.add_penalty_gradients()
        return float(buffer[-2]) + model.penalty(), bool(buffer[-1] > 0)

    def gather_batches(self, outputs: list) -> list:
        parts = self.comm.allgather(outputs)
        return [np.concatenate([rank_outputs[batch] for rank_outputs in parts]) for batch in range(len(outputs))]

    def predict(self, model, X) -> np.ndarray:
        start, stop = self.slice(len(X))
        local = model.predict(X[start:stop]) if stop > start else None
        parts = [part for part in self.comm.allgather(local) if part is not None]
        return np.concatenate(parts)

    def agree(self, flag: bool) -> bool:
        return bool(self.comm.allreduce(bool(flag), op=self.MPI.LOR))

    def allgather(self, value) -> list:
        return self.comm.allgather(value)

    def broadcast(self, value):
        return self.comm.bcast(value, root=0)

    def start(self, model, identity: dict | None = None) -> None:
        """Check that every rank runs the same training (``identity``: seeds, data shapes and a digest of every
        row — a DataError on every rank otherwise, so none waits for the others), then copy rank 0's
        weights and running statistics to every rank (equal already when the seeds are)."""
        identities = self.comm.allgather(identity)
        for rank, other in enumerate(identities):
            if other != identities[0]:
                differ = [key for key in identities[0] if identities[0][key] != other.get(key)]
                raise DataError(f"distributed training: rank {rank} differs from rank 0 in {', '.join(differ)} "
                                f"({identities[0][differ[0]]!r} on rank 0, {other.get(differ[0])!r} on rank "
                                f"{rank}); every rank must run the same script on the same data and seeds")
        self.comm.Bcast(model.parameters().values, root=0)
        for layer in model.layers:
            for array in layer.state().values():
                self.comm.Bcast(array, root=0)

    @contextlib.contextmanager
    def together(self):
        """Every rank runs the block; then each says whether it failed (one allgather). A rank that failed raises
        its own exception; the others raise an InputError saying which rank failed and why — the whole message
        when every rank failed alike, else prefixed with the rank ("rank 1: data.csv: no such file")."""
        failure = None
        try:
            yield
        except BaseException as exc:  # noqa: BLE001 - every rank must hear of it, whatever it is
            failure = exc
        report = None if failure is None else (one_line(failure), isinstance(failure, InputError))
        reports = self.comm.allgather(report)
        if failure is not None and not isinstance(failure, InputError):
            raise failure        # a bug (or Ctrl-C): this rank shows its own traceback
        failed = [(rank, report) for rank, report in enumerate(reports) if report is not None]
        if not failed:
            return
        messages = {message for _, (message, _) in failed}
        if len(failed) == self.size and len(messages) == 1:      # the same problem everywhere: said as it is
            if failure is not None:
                raise failure
            raise InputError(messages.pop())
        rank, (message, is_input) = failed[0]
        more = f" (and {len(failed) - 1} more rank(s))" if len(failed) > 1 else ""
        raise InputError(f"rank {rank}: {message if is_input else 'internal error: ' + message}{more}")

    @contextlib.contextmanager
    def guard(self):
        """An exception on this rank — a bug, a full disk, Ctrl-C — ends every rank: the others may be
        waiting in a sum this one will never join. It is printed here, then MPI_Abort ends the job with
        the exception's exit code (``exit_code`` attribute, 130 for Ctrl-C, else 1)."""
        try:
            yield
        except BaseException as exc:  # noqa: BLE001 - every failure must end the whole job
            code = 130 if isinstance(exc, KeyboardInterrupt) else getattr(exc, "exit_code", 1)
            if isinstance(exc, SystemExit):
                code = exc.code if isinstance(exc.code, int) else 1
            sys.stderr.write(f"deltaprop: rank {self.rank} of {self.size} failed; ending every rank\n")
            traceback.print_exc()
            sys.stderr.flush()
            self.comm.Abort(code or 1)


def under_launcher() -> bool:
    """True in a process started by mpiexec/mpirun (or another MPI launcher)."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


def launcher_rank() -> int:
    """This process's rank as the launcher set it (0 outside one), known before MPI starts."""
    for name in ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def connect(distributed) -> Replicas:
    """The replicas ``fit(distributed=…)`` trains with: False → one process; True → MPI's COMM_WORLD under
    mpiexec (one process outside it); an mpi4py communicator → its ranks."""
    if distributed is False or distributed is None:
        return Replicas()
    if isinstance(distributed, Replicas):
        return distributed
    if distributed is True:
        if not under_launcher():
            return Replicas()
        try:
            from mpi4py import MPI
        except ImportError:
            raise ImportError("fit(distributed=True) under mpiexec needs mpi4py: pip install 'deltaprop[mpi]'") \
                from None
        comm = MPI.COMM_WORLD
    else:
        comm = distributed
        if not all(hasattr(comm, name) for name in ("Allreduce", "Get_rank", "Get_size")):
            raise TypeError(f"distributed must be True, False or an mpi4py communicator, got {distributed!r}")
    return MPIReplicas(comm) if comm.Get_size() > 1 else Replicas()
