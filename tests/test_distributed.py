"""Data-parallel training over MPI gives the one-process result; a failing or dying rank ends the job.

The runs go through real ``mpiexec`` (Open MPI from pip) in subprocesses; ``tests/mpi/fit_script.py``
trains a network with BatchNorm and Dropout, Adam, a validation split, metrics and EarlyStopping.
"""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.training import distributed

SCRIPT = Path(__file__).parent / "mpi" / "fit_script.py"
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")

try:
    import mpi4py  # noqa: F401
    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False

needs_mpi = pytest.mark.skipif(MPIEXEC is None or not HAVE_MPI4PY,
                               reason="needs mpiexec and mpi4py: pip install 'deltaprop[mpi]'")


def mpi_env() -> dict:
    env = dict(os.environ)
    for name in distributed.LAUNCHER_VARIABLES:   # this test process may itself run under a launcher
        env.pop(name, None)
    # CI runs as root; Open MPI refuses root unless told it is intended
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def mpirun(n, *args, timeout=120):
    command = [MPIEXEC, "-n", str(n), "--oversubscribe", sys.executable, *map(str, args)]
    return subprocess.run(command, env=mpi_env(), capture_output=True, text=True, timeout=timeout)


def one_process(tmp_path) -> dict:
    out = tmp_path / "one.npz"
    subprocess.run([sys.executable, str(SCRIPT), str(out)], check=True, env=mpi_env(), timeout=120)
    return dict(np.load(out))


def assert_same_run(got: dict, expected: dict, rtol=1e-10) -> None:
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        # relative to the array's largest entry: entries that are zero up to rounding compare as such
        scale = max(float(np.max(np.abs(value))), 1e-300) if value.size else 1.0
        np.testing.assert_allclose(got[key], value, rtol=0, atol=rtol * scale, err_msg=key)


@needs_mpi
@pytest.mark.parametrize("n_ranks", [2, 3, 4])
def test_n_ranks_give_the_one_process_weights_statistics_and_history(tmp_path, n_ranks):
    expected = one_process(tmp_path)
    result = mpirun(n_ranks, SCRIPT, tmp_path / "many.npz", "--distributed")
    assert result.returncode == 0, result.stderr
    assert_same_run(dict(np.load(tmp_path / "many.npz")), expected)
    assert len(expected["history epoch"]) >= 3


@needs_mpi
def test_a_recurrent_network_on_two_ranks_gives_the_one_process_result(tmp_path):
    out = tmp_path / "one.npz"
    subprocess.run([sys.executable, str(SCRIPT), str(out), "--recurrent"], check=True, env=mpi_env(), timeout=120)
    result = mpirun(2, SCRIPT, tmp_path / "many.npz", "--distributed", "--recurrent")
    assert result.returncode == 0, result.stderr
    assert_same_run(dict(np.load(tmp_path / "many.npz")), dict(np.load(out)))


@needs_mpi
def test_initial_weights_that_differ_by_rank_are_made_equal_from_rank_0(tmp_path):
    expected = one_process(tmp_path)
    result = mpirun(2, SCRIPT, tmp_path / "many.npz", "--distributed", "--perturb-by-rank")
    assert result.returncode == 0, result.stderr
    assert_same_run(dict(np.load(tmp_path / "many.npz")), expected)


@needs_mpi
def test_ranks_with_different_seeds_are_refused_on_every_rank(tmp_path):
    result = mpirun(2, SCRIPT, tmp_path / "many.npz", "--distributed", "--seed-by-rank")
    assert result.returncode != 0
    assert "rank 1 differs from rank 0 in model seed (3 on rank 0, 4 on rank 1)" in result.stderr


@needs_mpi
def test_a_killed_rank_ends_the_job_quickly_with_a_failure_status(tmp_path):
    started = time.monotonic()
    result = mpirun(3, SCRIPT, tmp_path / "x.npz", "--distributed", "--kill-rank", 1, "--kill-epoch", 0,
                    timeout=90)
    assert result.returncode != 0
    assert time.monotonic() - started < 60
    assert not (tmp_path / "x.npz").exists()


@needs_mpi
def test_an_exception_on_one_rank_is_printed_and_aborts_every_rank(tmp_path):
    result = mpirun(2, SCRIPT, tmp_path / "x.npz", "--distributed", "--fail-rank", 1, timeout=90)
    assert result.returncode != 0
    assert "rank 1 of 2 failed" in result.stderr
    assert "RuntimeError: a failure on one rank" in result.stderr
    assert not (tmp_path / "x.npz").exists()


# ------------------------------------------------------------------ two "hosts": network namespaces and a veth pair
AGENT = """#!/bin/sh
# stands in for ssh: "agent [options] HOST COMMAND" runs COMMAND in HOST's network namespace, under HOST's name
while [ "${1#-}" != "$1" ]; do shift; done
host=$1; shift
exec ip netns exec "$host" unshare --uts sh -c "hostname $host; $*"
"""


@pytest.fixture
def two_hosts(tmp_path):
    """Two network namespaces joined by a veth pair on a private /24; yields (host names, subnet, agent)."""
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("unshare") is None:
        pytest.skip("network namespaces need root, iproute2 (ip) and util-linux (unshare)")
    tag = f"dp{os.getpid() % 100000}"
    hosts = (f"{tag}a", f"{tag}b")
    subnet = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"

    def ip(*args):
        return subprocess.run(["ip", *args], capture_output=True, text=True)

    made = []
    try:
        for host in hosts:
            if ip("netns", "add", host).returncode != 0:
                pytest.skip(f"cannot create network namespaces here: {ip('netns', 'add', host).stderr.strip()}")
            made.append(host)
        steps = [("link", "add", f"{tag}va", "type", "veth", "peer", "name", f"{tag}vb"),
                 ("link", "set", f"{tag}va", "netns", hosts[0]), ("link", "set", f"{tag}vb", "netns", hosts[1])]
        for number, (host, device) in enumerate(zip(hosts, (f"{tag}va", f"{tag}vb")), start=1):
            steps += [("-n", host, "addr", "add", f"{subnet}.{number}/24", "dev", device),
                      ("-n", host, "link", "set", device, "up"), ("-n", host, "link", "set", "lo", "up")]
        for step in steps:
            result = ip(*step)
            if result.returncode != 0:
                pytest.skip(f"cannot join the namespaces by a veth pair: ip {' '.join(step)}: {result.stderr.strip()}")
        agent = tmp_path / "agent.sh"
        agent.write_text(AGENT)
        agent.chmod(0o755)
        yield hosts, f"{subnet}.0/24", agent
    finally:
        for host in made:
            ip("netns", "del", host)


@needs_mpi
@pytest.mark.slow
def test_two_ranks_on_two_hosts_over_tcp_give_the_one_process_result(tmp_path, two_hosts):
    (first, second), subnet, agent = two_hosts
    expected = one_process(tmp_path)
    launch = (f"hostname {first}; {MPIEXEC} --host {first}:1,{second}:1 --prtemca plm_ssh_agent {agent} "
              f"--prtemca oob_tcp_if_include {subnet} --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include {subnet} "
              f"{sys.executable} {SCRIPT} {tmp_path / 'two.npz'} --distributed")
    result = subprocess.run(["ip", "netns", "exec", first, "unshare", "--uts", "sh", "-c", launch], env=mpi_env(),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "two.npz.hosts").read_text().split() == [first, second]
    assert_same_run(dict(np.load(tmp_path / "two.npz")), expected)


def test_outside_mpiexec_distributed_training_is_the_plain_one_process_run(rng, monkeypatch):
    for name in distributed.LAUNCHER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    X, y = rng.normal(size=(90, 5)), rng.integers(0, 2, size=90)

    def train(flag):
        model = dp.Sequential([dp.Dense(5, 8), dp.BatchNorm(8), dp.ReLU(), dp.Dropout(0.3), dp.Dense(8, 2)], seed=0)
        history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=2, batch_size=16, seed=1, verbose=0,
                            distributed=flag, validation_split=0.2, metrics=["accuracy"])
        return model.parameters().values.copy(), history["val_loss"]

    plain, distributed_run = train(False), train(True)
    np.testing.assert_array_equal(distributed_run[0], plain[0])
    assert distributed_run[1] == plain[1]


@pytest.mark.parametrize("n_rows, size", [(32, 2), (11, 4), (3, 4), (1000, 3)])
def test_the_ranks_slices_are_contiguous_and_cover_the_batch(n_rows, size):
    class Comm:
        def __init__(self, rank):
            self.rank = rank

        def Get_rank(self):
            return self.rank

        def Get_size(self):
            return size

    pytest.importorskip("mpi4py")
    slices = [distributed.MPIReplicas(Comm(rank)).slice(n_rows) for rank in range(size)]
    assert slices[0][0] == 0 and slices[-1][1] == n_rows
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:]))
    lengths = [stop - start for start, stop in slices]
    assert max(lengths) - min(lengths) <= 1


def test_distributed_must_be_a_flag_or_a_communicator():
    with pytest.raises(TypeError, match="distributed must be True, False or an mpi4py communicator"):
        distributed.connect("yes")


@needs_mpi
@pytest.mark.slow
def test_the_cli_on_two_ranks_writes_the_run_folder_of_one_process(tmp_path):
    import pandas as pd

    deltaprop = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    options = ["train", "--data", "wine", "--normalization", "batchnorm", "--dropout", "0.1", "--dtype", "float64",
               "--epochs", "12", "--seed", "4"]
    one = subprocess.run([deltaprop, *options, "--out", "one"], cwd=tmp_path, capture_output=True, text=True,
                         env=mpi_env(), timeout=300)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([MPIEXEC, "-n", "2", deltaprop, *options, "--out", "two", "--distributed"], cwd=tmp_path,
                         capture_output=True, text=True, env=mpi_env(), timeout=300)
    assert two.returncode == 0, two.stderr
    assert sorted(os.listdir(tmp_path / "two")) == sorted(os.listdir(tmp_path / "one"))
    assert sorted(os.listdir(tmp_path)) == ["one", "two"]            # no staging folder left behind
    assert two.stdout.count("wrote two/") == 1                       # rank 0 alone speaks
    got, expected = dp.load(tmp_path / "two" / "model.safetensors"), dp.load(tmp_path / "one" / "model.safetensors")
    assert_same_run({p.name: p.value for p in got.parameters()}, {p.name: p.value for p in expected.parameters()})
    history = {name: pd.read_csv(tmp_path / name / "history.csv").drop(columns="seconds") for name in ("one", "two")}
    np.testing.assert_allclose(history["two"].to_numpy(), history["one"].to_numpy(), rtol=1e-10)
    # the lines a user reads are those of one process, but for the timing and how to resume (under mpiexec)
    assert "continue it with: mpiexec -n 2 deltaprop train --resume two --distributed" in two.stdout
    assert [line for line in two.stdout.splitlines() if not any(w in line for w in ("epoch", "wrote", "--resume"))] \
        == [line for line in one.stdout.splitlines() if not any(w in line for w in ("epoch", "wrote", "--resume"))]


@needs_mpi
def test_bad_input_on_every_rank_is_said_once_with_exit_code_2(tmp_path):
    deltaprop = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    result = subprocess.run([MPIEXEC, "-n", "2", deltaprop, "train", "--data", "iris", "--epochs", "0",
                             "--distributed"], cwd=tmp_path, capture_output=True, text=True, env=mpi_env(), timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("deltaprop: error: --epochs must be at least 1, got 0") == 1, result.stderr


# ------------------------------------------------------------------------------- no silent hang, no unchecked data
def _per_rank(tmp_path, tables: dict, *options, timeout=120):
    """`mpiexec -n 2 deltaprop train --data d.csv …` where each rank reads its own d.csv (rank R runs in rankR/)."""
    for rank, text in tables.items():
        (tmp_path / f"rank{rank}").mkdir()
        (tmp_path / f"rank{rank}" / "d.csv").write_text(text)
    deltaprop = os.path.join(os.path.dirname(sys.executable), "deltaprop")
    command = f'cd rank$OMPI_COMM_WORLD_RANK && exec {deltaprop} train --data d.csv {" ".join(options)} --distributed'
    started = time.perf_counter()
    result = subprocess.run([MPIEXEC, "-n", "2", "sh", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                            env=mpi_env(), timeout=timeout)
    return result, time.perf_counter() - started


def _table_text(rows) -> str:
    return "a,b,c,y\n" + "".join(f"{a:.4f},{b:.4f},{c:.4f},{y}\n" for a, b, c, y in rows)


def _rows(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return [(*x, int(x[0] + x[1] > 0)) for x in X]


@needs_mpi
def test_bad_data_on_one_rank_ends_every_rank_at_once_said_once_with_its_rank(tmp_path):
    good = _table_text(_rows())
    header, rest = good.split("\n", 1)
    bad = f"{header}\n1.0,2.0\n{rest}"                      # one short row, at line 2
    result, seconds = _per_rank(tmp_path, {0: good, 1: bad}, "--epochs", "2", "--out", "run")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("deltaprop: error: rank 1: d.csv: line 2 has 2 fields but the header has 4") == 1, \
        result.stderr
    assert seconds < 60                        # a hang would wait for the timeout
    assert not (tmp_path / "rank0" / "run").exists()


@needs_mpi
def test_ranks_whose_data_differ_inside_are_refused_naming_what_differs(tmp_path):
    rows = _rows()
    shuffled = rows[:2] + list(reversed(rows[2:-2])) + rows[-2:]    # same first and last rows, same statistics
    result, _ = _per_rank(tmp_path, {0: _table_text(rows), 1: _table_text(shuffled)}, "--epochs", "2",
                          "--test-split", "0", "--val-split", "0", "--out", "run")
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("deltaprop: error: distributed training: rank 1 differs from rank 0 in data") == 1, \
        result.stderr
    assert "Traceback" not in result.stderr
