"""Dense (fully connected) layer: Z = A·W + b."""
from __future__ import annotations

import numpy as np

from .. import init as initializers
from .._checks import check_allocation, check_number, check_positive_int
from ..parameter import Parameter
from .base import Layer, register_layer


@register_layer
class Dense(Layer):
    """Fully connected layer ``Z = A·W + b``.

    ``W`` has shape ``(n_in, n_out)``: ``W[i, j]`` joins input ``i`` to unit ``j``.
    Backward, given δ = ∂L/∂Z::

        ∂L/∂W = Aᵀ·δ        ∂L/∂b = Σ_batch δ        ∂L/∂A = δ·Wᵀ

    Parameters
    ----------
    n_in, n_out : int
        Number of input features and of units.
    bias : bool, default True
        Whether to add the bias ``b``.
    init : str or callable, default ``"glorot_uniform"``
        Initializer of ``W`` (see [`deltaprop.init`][deltaprop.init]). ``dp.mlp`` picks ``he_uniform`` for
        the ReLU family instead.
    bias_init : str or callable, default ``"zeros"``
        Initializer of ``b``.
    l1, l2 : float, default 0
        Weight penalties on ``W`` (not on ``b``), added to the loss that ``fit`` reports and
        minimises: ``l1·Σ|W| + l2·Σ W²``, with gradient ``l1·sign(W) + 2·l2·W``.
        Unlike an optimizer's ``weight_decay`` (which changes the update and is not part of
        the loss), the penalty is part of the objective: it shows in the loss, applies to
        these layers only, and goes through Adam's adaptive scaling like any gradient.
        For plain SGD, ``l2=λ/2`` equals ``weight_decay=λ``.

    Shape
    -----
    input ``(N, n_in)`` → output ``(N, n_out)``.

    Speed (the values are the formulas above, whichever way they are computed): OpenBLAS is faster
    when a product's long dimension comes first, so the layer computes Zᵀ = Wᵀ·Aᵀ and δ·Wᵀ as (W·δᵀ)ᵀ
    (Z and ∂L/∂A are column-major views of the same shapes), and stores W column-major when
    n_out > n_in, which makes ∂L/∂W = Aᵀ·δ fast as well. Measured on bench/compare.py's shapes
    (1.2–2.3× faster products at batch 16); the rules depend on the layer's shape only, never on the
    batch, so a row's result is the same in any batch and runs repeat bit for bit.
    """

    kind = "weights"
    unit_axes = {"W": 1}
    linear_in_parameters = True

    def __init__(self, n_in: int, n_out: int, bias: bool = True, init="glorot_uniform", bias_init="zeros",
                 l1: float = 0.0, l2: float = 0.0):
        super().__init__()
        self.l1 = check_number(l1, "l1", low=0)
        self.l2 = check_number(l2, "l2", low=0)
        self.n_in = check_positive_int(n_in, "n_in")
        self.n_out = check_positive_int(n_out, "n_out")
        self.use_bias = bool(bias)
        self.init = initializers.get(init)
        self.bias_init = initializers.get(bias_init)
        check_allocation((self.n_in, self.n_out), np.float32, f"Dense({self.n_in}, {self.n_out})")
        order = "F" if self.n_out > self.n_in else "C"   # the faster orientation of ∂L/∂W (see Speed)
        self.W = Parameter("W", np.empty((self.n_in, self.n_out), dtype=np.float32, order=order))
        self.b = Parameter("b", np.empty(self.n_out, dtype=np.float32)) if self.use_bias else None
        self.A_in = None  # the input A kept for ∂L/∂W = Aᵀ·δ
        self.reset_parameters(np.random.default_rng())

    @classmethod
    def expected_shapes(cls, config: dict) -> dict:
        n_in, n_out = check_positive_int(config["n_in"], "n_in"), check_positive_int(config["n_out"], "n_out")
        return {"W": (n_in, n_out), **({"b": (n_out,)} if config.get("bias", True) else {})}

    def reset_parameters(self, rng: np.random.Generator) -> None:
        dtype = self.W.value.dtype
        self.W.value[...] = self.init((self.n_in, self.n_out), rng, dtype)   # in place: the memory order stays
        if self.b is not None:
            self.b.value[...] = self.bias_init((self.n_out,), rng, dtype)

    @property
    def input_shape(self) -> tuple:
        return (self.n_in,)

    def parameters(self) -> list:
        return [self.W] if self.b is None else [self.W, self.b]

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Z = x·W + b."""
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(
                f"{self.label} expects input of shape (n_samples, {self.n_in}), got shape {x.shape}"
            )
        W = self.W.value
        x = np.asarray(x, dtype=W.dtype)
        self.A_in = x
        z = (W.T @ x.T).T
        if self.b is not None:
            z += self.b.value
        return z

    def backward(self, grad_y: np.ndarray) -> np.ndarray:
        """Given δ = ∂L/∂Z: write ∂L/∂W = Aᵀ·δ and ∂L/∂b = Σδ, return δ·Wᵀ."""
        self.backward_parameters(grad_y)
        W = self.W.value
        return (W @ grad_y.T).T

    def backward_parameters(self, grad_y: np.ndarray) -> None:
        """∂L/∂W = Aᵀ·δ and ∂L/∂b = Σδ, without the input gradient δ·Wᵀ."""
        if self.A_in is None:
            raise RuntimeError(f"{self.label}: backward called before forward")
        grad = self.W.grad   # written in its own memory order, so that BLAS writes it directly
        if grad.flags.c_contiguous:
            np.matmul(self.A_in.T, grad_y, out=grad)
        else:
            np.matmul(grad_y.T, self.A_in, out=grad.T)
        if self.b is not None:
            np.sum(grad_y, axis=0, out=self.b.grad)

    def per_sample_squared_norms(self) -> np.ndarray:
        """Row i's share of ∂L/∂W is aᵢδᵢᵀ (an outer product), so ‖aᵢδᵢᵀ‖² = ‖aᵢ‖²·‖δᵢ‖², plus ‖δᵢ‖² for b."""
        if self.A_in is None or self.grad_output is None:
            raise RuntimeError(f"{self.label}: per-sample norms need a forward and a backward pass")
        delta_sq = np.einsum("ij,ij->i", self.grad_output, self.grad_output)
        a_sq = np.einsum("ij,ij->i", self.A_in, self.A_in)
        return delta_sq * (a_sq + (1.0 if self.b is not None else 0.0))

    def to_onnx(self, graph, x):
        """Z = x·W + b (MatMul, Add)."""
        z = graph.op("MatMul", x, graph.constant(self.W.value, "W"))
        return graph.op("Add", z, graph.constant(self.b.value, "b")) if self.b is not None else z

    def penalty(self) -> float:
        """l1·Σ|W| + l2·Σ W²."""
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.abs(self.W.value).sum())
        if self.l2:
            total += self.l2 * float(np.vdot(self.W.value, self.W.value))
        return total

    def add_penalty_gradients(self) -> None:
        """∂L/∂W += l1·sign(W) + 2·l2·W."""
        if self.l1:
            self.W.grad += self.W.value.dtype.type(self.l1) * np.sign(self.W.value)
        if self.l2:
            self.W.grad += self.W.value.dtype.type(2 * self.l2) * self.W.value

    def output_shape(self, input_shape: tuple) -> tuple:
        return (self.n_out,)

    def describe(self) -> str:
        return f"Dense({self.n_in}, {self.n_out}{'' if self.use_bias else ', bias=False'})"

    def config(self) -> dict:
        config = {"n_in": self.n_in, "n_out": self.n_out, "bias": self.use_bias}
        if self.l1:
            config["l1"] = self.l1
        if self.l2:
            config["l2"] = self.l2
        init_config = initializers.to_config(self.init)
        if init_config is not None:
            config["init"] = init_config
        return config
