"""The Hessian H = ∇²L(θ) of a model's training loss, used only through products H·v.

H·v is the directional derivative of the gradient, computed by central differences of two backward passes
in float64::

    H·v ≈ ‖v‖ · (∇L(θ + h·v̂) − ∇L(θ − h·v̂)) / (2h),        v̂ = v / ‖v‖

Its error is O(h²) from the third derivative plus O(ε_mach·‖∇L‖/h) from rounding; with the default
h = 1e-6·max(1, rms(θ)) the relative error is ≤ 1e-6 (tested against PyTorch's exact Hessian: MLPs with
tanh and ReLU, BatchNorm, a CNN; typically 1e-9 to 1e-8). Any layer works, a user's registered layer too: only its
backward pass is used.

**Kinks.** A ReLU network's loss has no second derivative where a unit's pre-activation is 0, and with many
samples some pre-activation is always near 0: a step across one adds a jump/h to the difference (on a
trained MNIST MLP, h = 1e-4 gave an error of 390%). PyTorch's autograd ignores the kinks (f'' = 0 everywhere);
to agree with it, each product also compares the two one-sided differences (∇L(θ + h·v̂) − ∇L(θ))/h and
(∇L(θ) − ∇L(θ − h·v̂))/h, which agree to O(h) where the gradient is smooth: if they differ by more than
KINK_TOLERANCE·‖H·v̂‖ the step is divided by 10 and the product measured again (KINK_RETRIES times at most;
``kinks`` counts the products that still disagreed). ∇L(θ) is computed once.

Costs, in gradient evaluations (each one forward and one backward pass over the data), besides the one for
∇L(θ): ``hvp``: 2; ``eigenvalues``: 2 per Lanczos step; ``trace``: 2 per sample vector; ``density``:
2·steps per vector.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_positive_int, check_seed
from .objective import Objective

#: the one-sided differences may disagree by this fraction of ‖H·v‖ before a kink is suspected
KINK_TOLERANCE = 1e-3
#: how many times the step is divided by 10 when they disagree more
KINK_RETRIES = 3


class Hessian:
    """Products with the Hessian of ``model``'s mean training loss over ``X, y``; see the module docstring.

    Parameters
    ----------
    model, loss, X, y, batch_size
        As for `deltaprop.curvature.objective.Objective` (training-mode passes, float64 copy).
    step : float, optional
        The finite-difference step h along the unit direction; default 1e-6·max(1, rms(θ)) (small: fewer
        kinks to cross).
    progress : callable(done, total), optional
        Called after each product by the methods that make many (a progress bar).
    """

    def __init__(self, model, loss, X, y, *, batch_size: int | None = None, step: float | None = None,
                 progress=None):
        self.objective = Objective(model, loss, X, y, batch_size=batch_size, training=True)
        theta = self.objective.theta
        rms = float(np.sqrt(np.mean(theta ** 2))) if theta.size else 0.0
        self.step = 1e-6 * max(1.0, rms) if step is None else float(step)
        self._gradient = None       # ∇L(θ), computed once, for the kink check
        #: products whose kink check still failed after KINK_RETRIES smaller steps (returned as measured)
        self.kinks = 0
        #: Hessian-vector products so far
        self.n_products = 0
        if not self.step > 0:
            raise ValueError(f"step must be positive, got {step!r}")
        self.progress = progress

    @property
    def size(self) -> int:
        """n, the number of parameters: H is n × n."""
        return self.objective.size


    def hvp(self, v) -> np.ndarray:
        """H·v for a flat vector ``v`` in ``model.parameters()`` order; 2 gradient evaluations (more where a kink
        was crossed: see the module docstring)."""
        v = np.asarray(v, dtype=np.float64).reshape(-1)
        if v.size != self.size:
            raise ValueError(f"v must have one entry per parameter ({self.size}), got {v.size}")
        norm = float(np.linalg.norm(v))
        if norm == 0:
            return np.zeros_like(v)
        if not np.isfinite(norm):
            raise ValueError("v holds non-finite values")
        self.n_products += 1
        if self._gradient is None:
            self._gradient = self.objective.gradient()[1]
        theta, step = self.objective.theta, self.step
        for _ in range(KINK_RETRIES + 1):
            direction = v * (step / norm)
            ahead = self.objective.gradient(theta + direction)[1]
            behind = self.objective.gradient(theta - direction)[1]
            central = (ahead - behind) / (2 * step)
            # the two one-sided differences agree to O(h) where the gradient is smooth; a kink between θ and
            # θ ± h·v̂ (a ReLU unit, a max-pooling window changing its maximum) puts a jump/h into one of them
            gap = np.linalg.norm((ahead - self._gradient) - (self._gradient - behind)) / step
            if gap <= KINK_TOLERANCE * np.linalg.norm(central) or not np.any(central):
                return central * norm
            step /= 10
        self.kinks += 1
        return central * norm

    def operator(self):
        """H as a ``scipy.sparse.linalg.LinearOperator`` (symmetric, float64)."""
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator((self.size, self.size), matvec=self.hvp, rmatvec=self.hvp, dtype=np.float64)

    # ------------------------------------------------------------------ spectrum
    def eigenvalues(self, k: int = 1, *, which: str = "largest", tol: float = 1e-8, seed: int | None = 0,
                    return_vectors: bool = False):
        """The ``k`` largest (algebraic) eigenvalues of H, in descending order (``which="smallest"``: the k
        smallest, ascending), by implicitly restarted Lanczos (ARPACK through ``scipy.sparse.linalg.eigsh``).
        Cost: 2 gradient evaluations per Lanczos step; ARPACK needs about 20–60 steps for k = 1–3."""
        k = check_positive_int(k, "k")
        if k >= self.size:
            raise ValueError(f"k must be below the number of parameters ({self.size}), got {k}")
        if which not in ("largest", "smallest"):
            raise ValueError(f"which must be 'largest' or 'smallest', got {which!r}")
        from scipy.sparse.linalg import eigsh

        start = np.random.default_rng(check_seed(seed)).standard_normal(self.size)
        values, vectors = eigsh(self.operator(), k=k, which="LA" if which == "largest" else "SA", tol=tol,
                                v0=start)
        order = np.argsort(values)[::-1] if which == "largest" else np.argsort(values)
        values, vectors = values[order], vectors[:, order]
        return (values, vectors) if return_vectors else values

    def lanczos(self, steps: int, start=None, *, seed: int | None = 0) -> "Tridiagonal":
        """``steps`` Lanczos steps from ``start`` (default: a random unit vector), with full
        reorthogonalisation: the tridiagonal T = QᵀHQ (diagonal α, off-diagonal β). Its eigenvalues (Ritz
        values) approach H's extreme eigenvalues; 2·steps gradient evaluations."""
        steps = min(check_positive_int(steps, "steps"), self.size)
        q = np.random.default_rng(check_seed(seed)).standard_normal(self.size) if start is None else \
            np.asarray(start, dtype=np.float64).reshape(-1)
        q = q / np.linalg.norm(q)
        basis = np.zeros((steps, self.size))
        alpha, beta = np.zeros(steps), np.zeros(max(steps - 1, 0))
        for j in range(steps):
            basis[j] = q
            w = self.hvp(q)
            alpha[j] = q @ w
            w -= basis[:j + 1].T @ (basis[:j + 1] @ w)     # full reorthogonalisation, twice is enough
            w -= basis[:j + 1].T @ (basis[:j + 1] @ w)
            if self.progress is not None:
                self.progress(j + 1, steps)
            if j + 1 == steps:
                break
            beta[j] = np.linalg.norm(w)
            if beta[j] < 1e-12 * max(1.0, abs(alpha[j])):   # an invariant subspace: T is exact
                return Tridiagonal(alpha[:j + 1], beta[:j], basis[:j + 1])
            q = w / beta[j]
        return Tridiagonal(alpha, beta, basis)

    def top_eigenvalue(self, steps: int = 20, *, seed: int | None = 0) -> float:
        """λ_max ≈ the largest Ritz value after ``steps`` Lanczos steps (2·steps gradient evaluations)."""
        return float(self.lanczos(steps, seed=seed).ritz_values()[-1])

    def trace(self, n_vectors: int = 100, *, seed: int | None = 0) -> "TraceEstimate":
        """tr(H) by Hutchinson's estimator with Rademacher vectors z (entries ±1): E[zᵀHz] = tr(H).
        Returns the mean of ``n_vectors`` samples and its standard error s/√m; 2 gradient evaluations
        per vector."""
        n_vectors = check_positive_int(n_vectors, "n_vectors")
        rng = np.random.default_rng(check_seed(seed))
        samples = np.empty(n_vectors)
        for i in range(n_vectors):
            z = rng.choice([-1.0, 1.0], size=self.size)
            samples[i] = z @ self.hvp(z)
            if self.progress is not None:
                self.progress(i + 1, n_vectors)
        error = float(samples.std(ddof=1) / np.sqrt(n_vectors)) if n_vectors > 1 else float("inf")
        return TraceEstimate(float(samples.mean()), error, n_vectors)

    def density(self, n_vectors: int = 5, steps: int = 40, *, seed: int | None = 0) -> "SpectralDensity":
        """The spectral density of H by stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017): for each of
        ``n_vectors`` random unit vectors, ``steps`` Lanczos steps; the eigenvalues θ_j of T are the nodes and
        the squared first components of its eigenvectors the weights (they sum to 1 for each vector), all
        averaged over the vectors. 2·steps·n_vectors gradient evaluations."""
        n_vectors = check_positive_int(n_vectors, "n_vectors")
        rng = np.random.default_rng(check_seed(seed))
        nodes, weights = [], []
        progress, self.progress = self.progress, None
        try:
            for i in range(n_vectors):
                start = rng.choice([-1.0, 1.0], size=self.size)
                values, vectors = self.lanczos(steps, start).eigen()
                nodes.append(values)
                weights.append(vectors[0] ** 2 / n_vectors)
                if progress is not None:
                    progress(i + 1, n_vectors)
        finally:
            self.progress = progress
        return SpectralDensity(np.concatenate(nodes), np.concatenate(weights))


@dataclass
class Tridiagonal:
    """The Lanczos tridiagonal T = QᵀHQ: diagonal ``alpha`` (m,), off-diagonal ``beta`` (m−1,), and the
    orthonormal ``basis`` Q (m rows of n)."""

    alpha: np.ndarray
    beta: np.ndarray
    basis: np.ndarray | None = None

    def matrix(self) -> np.ndarray:
        return np.diag(self.alpha) + np.diag(self.beta, 1) + np.diag(self.beta, -1)

    def eigen(self) -> tuple[np.ndarray, np.ndarray]:
        """Eigenvalues (ascending) and eigenvectors (columns) of T."""
        return np.linalg.eigh(self.matrix())

    def top_vector(self) -> np.ndarray:
        """The Ritz vector of the largest Ritz value: Q·u, u T's top eigenvector (an estimate of H's)."""
        return self.basis.T @ self.eigen()[1][:, -1]

    def ritz_values(self) -> np.ndarray:
        """Eigenvalues of T, ascending: estimates of H's extreme eigenvalues."""
        return np.linalg.eigvalsh(self.matrix())


@dataclass
class TraceEstimate:
    """Hutchinson's estimate of tr(H): ``value`` ± ``standard_error`` from ``n_vectors`` samples."""

    value: float
    standard_error: float
    n_vectors: int


@dataclass
class SpectralDensity:
    """A spectral density as point masses: eigenvalue ``nodes`` and their ``weights`` (summing to 1)."""

    nodes: np.ndarray
    weights: np.ndarray

    def smooth(self, grid, width: float | None = None) -> np.ndarray:
        """The density on ``grid``, each point mass widened to a Gaussian of standard deviation ``width``
        (default: 1% of the nodes' range): φ(t) = Σ_j w_j·N(t; θ_j, width²)."""
        grid = np.asarray(grid, dtype=np.float64)
        spread = float(np.ptp(self.nodes)) if self.nodes.size else 1.0
        width = (0.01 * spread or 1.0) if width is None else float(width)
        kernel = np.exp(-0.5 * ((grid[:, None] - self.nodes[None, :]) / width) ** 2) / (width * np.sqrt(2 * np.pi))
        return kernel @ self.weights
