"""One time step of the Elman RNN, the GRU and the LSTM, forward and backward, as PyTorch defines them.

Each cell receives the input projection of its step, ``xw = xₜ·W_ih + b_ih`` (computed for all steps at once by
the layer), and the previous state; it returns the new state and what its backward step needs. The backward
step receives ∂L/∂hₜ (and ∂L/∂cₜ for the LSTM) and returns ∂L/∂xw (for W_ih, b_ih and the input), ∂L/∂(hW) =
∂L/∂(hₜ₋₁·W_hh + b_hh) (for W_hh, b_hh) and ∂L/∂hₜ₋₁ without the W_hh path (the layer adds (∂L/∂(hW))·W_hhᵀ).
Gate blocks are in PyTorch's order along the last axis: GRU r|z|n, LSTM i|f|g|o.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = ½ + ½·tanh(x/2): the same function, stable for any x, one ufunc pass (gates run once per step)."""
    out = np.tanh(x * x.dtype.type(0.5))
    out *= 0.5
    out += 0.5
    return out


class RNNCell:
    """hₜ = f(xw + hₜ₋₁·W_hh + b_hh), f = tanh or ReLU.   δ of the pre-activation: ∂L/∂hₜ ⊙ f'."""

    gates = 1
    has_cell = False

    def __init__(self, nonlinearity: str):
        self.tanh = nonlinearity == "tanh"

    def forward(self, xw, hw, h, c=None):
        pre = xw + hw
        new = np.tanh(pre) if self.tanh else np.maximum(pre, 0)
        return new, None, new          # (h, c, saved)

    def backward(self, dh, dc, saved, h, c=None):
        new = saved
        d_pre = dh * (1 - new * new) if self.tanh else dh * (new > 0)
        return d_pre, d_pre, np.zeros_like(dh), None     # (d xw, d hw, direct ∂L/∂hₜ₋₁, ∂L/∂cₜ₋₁)


class GRUCell:
    """r = σ(xw_r + hw_r), z = σ(xw_z + hw_z), n = tanh(xw_n + r ⊙ hw_n), hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁,
    with hw = hₜ₋₁·W_hh + b_hh (so b_hn sits inside r ⊙ (…), as in PyTorch)."""

    gates = 3
    has_cell = False

    def forward(self, xw, hw, h, c=None):
        H = h.shape[-1]
        rz = sigmoid(xw[:, :2 * H] + hw[:, :2 * H])
        r, z = rz[:, :H], rz[:, H:]
        hn = hw[:, 2 * H:]
        n = np.tanh(xw[:, 2 * H:] + r * hn)
        return (1 - z) * n + z * h, None, (r, z, n, hn)

    def backward(self, dh, dc, saved, h, c=None):
        r, z, n, hn = saved
        dn = dh * (1 - z) * (1 - n * n)                 # ∂L/∂(pre-activation of n)
        dz = dh * (h - n) * z * (1 - z)
        dr = dn * hn * r * (1 - r)
        d_xw = np.concatenate([dr, dz, dn], axis=1)
        d_hw = np.concatenate([dr, dz, dn * r], axis=1)
        return d_xw, d_hw, dh * z, None


class LSTMCell:
    """i, f, o = σ(·), g = tanh(·) of xw + hw; cₜ = f ⊙ cₜ₋₁ + i ⊙ g, hₜ = o ⊙ tanh(cₜ)."""

    gates = 4
    has_cell = True

    def forward(self, xw, hw, h, c):
        H = h.shape[-1]
        pre = xw + hw
        i_f = sigmoid(pre[:, :2 * H])
        i, f = i_f[:, :H], i_f[:, H:]
        g = np.tanh(pre[:, 2 * H:3 * H])
        o = sigmoid(pre[:, 3 * H:])
        c_new = f * c + i * g
        tanh_c = np.tanh(c_new)
        return o * tanh_c, c_new, (i, f, g, o, tanh_c)

    def backward(self, dh, dc, saved, h, c):
        i, f, g, o, tanh_c = saved
        dc = dc + dh * o * (1 - tanh_c * tanh_c)
        d_pre = np.concatenate([dc * g * i * (1 - i), dc * c * f * (1 - f), dc * i * (1 - g * g),
                                dh * tanh_c * o * (1 - o)], axis=1)
        return d_pre, d_pre, np.zeros_like(dh), dc * f


CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}
