"""Compiled time loops of the recurrent layers (numba, when installed), for small hidden sizes.

A step of a small recurrent layer is a few dozen tiny NumPy calls, whose Python overhead — not arithmetic —
sets the speed (the MNIST-1D GRU of 6 units: ~40 calls per step and direction). These kernels run a whole
direction's loop over the steps, forward or backward, sample by sample in compiled code: the same formulas as
`deltaprop.layers.recurrent_cells` (σ(x) = 1/(1 + e⁻ˣ) here, 3× cheaper than a scalar tanh and as exact;
subnormal results flushed to zero; padded steps keep the state; δ cut at every ``k``-th step for truncated
BPTT). Used while ``hidden ≤ COMPILED_HIDDEN``; above
it the NumPy cells with one BLAS product per step are faster. The NumPy cells are the reference the tests
check these against.

Saved per step, in ``saved`` (N, T, S·H): the RNN its new state (S = 1); the GRU r, z, n and hW_hn + b_hn
(S = 4); the LSTM i, f, g, o and tanh(cₜ) (S = 5).
"""
from __future__ import annotations

import math

import numpy as np

from .conv_kernels import compiled

#: the largest hidden size the compiled loops run (measured by bench/rnn_compare.py, a training step of batch 64 ×
#: 100 steps on the 2-core Intel host, 2026-11-30: GRU 4.2 ms compiled against 6.5 ms NumPy at 8 units, 9.8 against
#: 9.2 at 16, 26 against 14 at 32 — there the per-step BLAS product of the NumPy cells wins)
COMPILED_HIDDEN = 12
SAVED = {"rnn": 1, "gru": 4, "lstm": 5}


def _rnn_forward(xw, W_hh, b_hh, h0, mask, reverse, relu, hs, prev, saved):
    N, T, H = xw.shape
    h = np.empty(H, dtype=xw.dtype)
    new = np.empty(H, dtype=xw.dtype)
    for n in range(N):
        h[:] = h0[n]
        for step in range(T):
            t = T - 1 - step if reverse else step
            m = mask[n, t]
            for j in range(H):
                prev[n, t, j] = h[j]
            for j in range(H):
                acc = xw[n, t, j] + b_hh[j]
                for k in range(H):
                    acc += h[k] * W_hh[k, j]
                a = (acc if acc > 0 else 0.0) if relu else math.tanh(acc)
                saved[n, t, j] = a
                new[j] = m * a + (1 - m) * h[j]
            for j in range(H):
                h[j] = new[j]
                hs[n, t, j] = new[j]


def _gru_forward(xw, W_hh, b_hh, h0, mask, reverse, hs, prev, saved, one):
    N, T, G = xw.shape
    H = G // 3
    h = np.empty(H, dtype=xw.dtype)
    hw = np.empty(G, dtype=xw.dtype)
    for n in range(N):
        h[:] = h0[n]
        for step in range(T):
            t = T - 1 - step if reverse else step
            m = mask[n, t]
            for j in range(G):
                acc = b_hh[j]
                for k in range(H):
                    acc += h[k] * W_hh[k, j]
                hw[j] = acc
            for j in range(H):
                prev[n, t, j] = h[j]
                r = one / (one + math.exp(-(xw[n, t, j] + hw[j])))
                z = one / (one + math.exp(-(xw[n, t, H + j] + hw[H + j])))
                hn = hw[2 * H + j]
                c = math.tanh(xw[n, t, 2 * H + j] + r * hn)
                saved[n, t, j], saved[n, t, H + j], saved[n, t, 2 * H + j], saved[n, t, 3 * H + j] = r, z, c, hn
                hs[n, t, j] = m * ((1 - z) * c + z * h[j]) + (1 - m) * h[j]
            for j in range(H):
                h[j] = hs[n, t, j]


def _lstm_forward(xw, W_hh, b_hh, h0, c0, mask, reverse, hs, prev, prev_c, saved, c_last, one):
    N, T, G = xw.shape
    H = G // 4
    h = np.empty(H, dtype=xw.dtype)
    c = np.empty(H, dtype=xw.dtype)
    pre = np.empty(G, dtype=xw.dtype)
    for n in range(N):
        h[:] = h0[n]
        c[:] = c0[n]
        for step in range(T):
            t = T - 1 - step if reverse else step
            m = mask[n, t]
            for j in range(G):
                acc = xw[n, t, j] + b_hh[j]
                for k in range(H):
                    acc += h[k] * W_hh[k, j]
                pre[j] = acc
            for j in range(H):
                prev[n, t, j] = h[j]
                prev_c[n, t, j] = c[j]
                i = one / (one + math.exp(-pre[j]))
                f = one / (one + math.exp(-pre[H + j]))
                g = math.tanh(pre[2 * H + j])
                o = one / (one + math.exp(-pre[3 * H + j]))
                c_new = f * c[j] + i * g
                tanh_c = math.tanh(c_new)
                saved[n, t, j], saved[n, t, H + j], saved[n, t, 2 * H + j] = i, f, g
                saved[n, t, 3 * H + j], saved[n, t, 4 * H + j] = o, tanh_c
                c[j] = m * c_new + (1 - m) * c[j]
                hs[n, t, j] = m * (o * tanh_c) + (1 - m) * h[j]
            for j in range(H):
                h[j] = hs[n, t, j]
        for j in range(H):
            c_last[n, j] = c[j]


def _rnn_backward(d_out, d_last, saved, W_hh, mask, reverse, relu, k, tiny, d_x, deltas, dh0):
    N, T, H = d_out.shape
    dh = np.empty(H, dtype=d_out.dtype)
    new = np.empty(H, dtype=d_out.dtype)
    for n in range(N):
        dh[:] = d_last[n]
        for step in range(T):
            t = step if reverse else T - 1 - step
            m = mask[n, t]
            for j in range(H):
                dh[j] += d_out[n, t, j]
                deltas[n, t, j] = dh[j]
            for j in range(H):
                a = saved[n, t, j]
                local = (1.0 if a > 0 else 0.0) if relu else 1 - a * a
                v = m * dh[j] * local
                d_x[n, t, j] = 0.0 if -tiny < v < tiny else v
            for q in range(H):
                acc = (1 - m) * dh[q]
                for j in range(H):
                    acc += d_x[n, t, j] * W_hh[q, j]
                new[q] = 0.0 if -tiny < acc < tiny else acc
            position = T - 1 - t if reverse else t
            cut = k > 0 and position > 0 and position % k == 0
            for q in range(H):
                dh[q] = 0.0 if cut else new[q]
        for q in range(H):
            dh0[n, q] = dh[q]


def _gru_backward(d_out, d_last, saved, prev, W_hh, mask, reverse, k, tiny, d_x, d_h, deltas, dh0):
    N, T, H = d_out.shape
    G = 3 * H
    dh = np.empty(H, dtype=d_out.dtype)
    new = np.empty(H, dtype=d_out.dtype)
    for n in range(N):
        dh[:] = d_last[n]
        for step in range(T):
            t = step if reverse else T - 1 - step
            m = mask[n, t]
            for j in range(H):
                dh[j] += d_out[n, t, j]
                deltas[n, t, j] = dh[j]
            for j in range(H):
                r, z, c, hn = saved[n, t, j], saved[n, t, H + j], saved[n, t, 2 * H + j], saved[n, t, 3 * H + j]
                g = m * dh[j]
                dn = g * (1 - z) * (1 - c * c)
                dz = g * (prev[n, t, j] - c) * z * (1 - z)
                dr = dn * hn * r * (1 - r)
                dn, dz, dr = (0.0 if -tiny < dn < tiny else dn, 0.0 if -tiny < dz < tiny else dz,
                              0.0 if -tiny < dr < tiny else dr)
                d_x[n, t, j], d_x[n, t, H + j], d_x[n, t, 2 * H + j] = dr, dz, dn
                v = dn * r
                d_h[n, t, j], d_h[n, t, H + j], d_h[n, t, 2 * H + j] = dr, dz, 0.0 if -tiny < v < tiny else v
            for q in range(H):
                acc = saved[n, t, H + q] * m * dh[q] + (1 - m) * dh[q]
                for j in range(G):
                    acc += d_h[n, t, j] * W_hh[q, j]
                new[q] = 0.0 if -tiny < acc < tiny else acc
            position = T - 1 - t if reverse else t
            cut = k > 0 and position > 0 and position % k == 0
            for q in range(H):
                dh[q] = 0.0 if cut else new[q]
        for q in range(H):
            dh0[n, q] = dh[q]


def _lstm_backward(d_out, d_last, saved, prev_c, W_hh, mask, reverse, k, tiny, d_x, deltas, dh0, dc0):
    N, T, H = d_out.shape
    G = 4 * H
    dh = np.empty(H, dtype=d_out.dtype)
    dc = np.empty(H, dtype=d_out.dtype)
    new_h = np.empty(H, dtype=d_out.dtype)
    new_c = np.empty(H, dtype=d_out.dtype)
    for n in range(N):
        dh[:] = d_last[n]
        dc[:] = 0.0
        for step in range(T):
            t = step if reverse else T - 1 - step
            m = mask[n, t]
            for j in range(H):
                dh[j] += d_out[n, t, j]
                deltas[n, t, j] = dh[j]
            for j in range(H):
                i, f, g = saved[n, t, j], saved[n, t, H + j], saved[n, t, 2 * H + j]
                o, tanh_c = saved[n, t, 3 * H + j], saved[n, t, 4 * H + j]
                gh, gc = m * dh[j], m * dc[j]
                total_c = gc + gh * o * (1 - tanh_c * tanh_c)
                values = (total_c * g * i * (1 - i), total_c * prev_c[n, t, j] * f * (1 - f),
                          total_c * i * (1 - g * g), gh * tanh_c * o * (1 - o))
                for block in range(4):
                    v = values[block]
                    d_x[n, t, block * H + j] = 0.0 if -tiny < v < tiny else v
                v = total_c * f + (1 - m) * dc[j]
                new_c[j] = 0.0 if -tiny < v < tiny else v
            for q in range(H):
                acc = (1 - m) * dh[q]
                for j in range(G):
                    acc += d_x[n, t, j] * W_hh[q, j]
                new_h[q] = 0.0 if -tiny < acc < tiny else acc
            position = T - 1 - t if reverse else t
            cut = k > 0 and position > 0 and position % k == 0
            for q in range(H):
                dh[q] = 0.0 if cut else new_h[q]
                dc[q] = 0.0 if cut else new_c[q]
        for q in range(H):
            dh0[n, q] = dh[q]
            dc0[n, q] = dc[q]


def available(hidden: int) -> bool:
    """Whether the compiled loops run for this hidden size (numba installed and switched on, H small)."""
    return hidden <= COMPILED_HIDDEN and compiled(_gru_forward) is not None


def forward(cell: str, relu: bool, xw, W_hh, b_hh, h0, c0, mask, reverse: bool) -> dict:
    """One direction's forward loop: {"h", "previous_h", "previous_c", "saved", "h_last", "c_last"}."""
    N, T, _ = xw.shape
    H = W_hh.shape[0]
    dtype = xw.dtype
    hs, prev = np.empty((N, T, H), dtype=dtype), np.empty((N, T, H), dtype=dtype)
    saved = np.empty((N, T, SAVED[cell] * H), dtype=dtype)
    xw, W_hh, h0 = (np.ascontiguousarray(a, dtype=dtype) for a in (xw, W_hh, h0))
    result = {"h": hs, "previous_h": prev, "previous_c": None, "saved": saved}
    if cell == "rnn":
        compiled(_rnn_forward)(xw, W_hh, b_hh, h0, mask, reverse, relu, hs, prev, saved)
    elif cell == "gru":
        compiled(_gru_forward)(xw, W_hh, b_hh, h0, mask, reverse, hs, prev, saved, dtype.type(1))
    else:
        prev_c, c_last = np.empty((N, T, H), dtype=dtype), np.empty((N, H), dtype=dtype)
        compiled(_lstm_forward)(xw, W_hh, b_hh, h0, np.ascontiguousarray(c0, dtype=dtype), mask, reverse, hs, prev,
                                prev_c, saved, c_last, dtype.type(1))
        result["previous_c"], result["c_last"] = prev_c, c_last
    result["h_last"] = hs[:, T - 1 if not reverse else 0].copy()
    return result


def backward(cell: str, relu: bool, record: dict, d_out, d_last, W_hh, mask, reverse: bool, k: int) -> tuple:
    """One direction's backward loop: (∂L/∂xw, ∂L/∂hw, δ of every step, ∂L/∂h₀, ∂L/∂c₀ or None)."""
    N, T, H = d_out.shape
    dtype = d_out.dtype
    d_out = np.ascontiguousarray(d_out)
    d_last = np.zeros((N, H), dtype=dtype) if d_last is None else np.ascontiguousarray(d_last, dtype=dtype)
    tiny = dtype.type(np.finfo(dtype).tiny)
    G = W_hh.shape[1]
    d_x, deltas, dh0 = np.empty((N, T, G), dtype=dtype), np.empty((N, T, H), dtype=dtype), np.empty((N, H), dtype)
    W_hh = np.ascontiguousarray(W_hh)
    if cell == "rnn":
        compiled(_rnn_backward)(d_out, d_last, record["saved"], W_hh, mask, reverse, relu, k, tiny, d_x, deltas, dh0)
        return d_x, d_x, deltas, dh0, None
    if cell == "gru":
        d_h = np.empty_like(d_x)
        compiled(_gru_backward)(d_out, d_last, record["saved"], record["previous_h"], W_hh, mask, reverse, k, tiny,
                                d_x, d_h, deltas, dh0)
        return d_x, d_h, deltas, dh0, None
    dc0 = np.empty((N, H), dtype=dtype)
    compiled(_lstm_backward)(d_out, d_last, record["saved"], record["previous_c"], W_hh, mask, reverse, k, tiny,
                             d_x, deltas, dh0, dc0)
    return d_x, d_x, deltas, dh0, dc0
