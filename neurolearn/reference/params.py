"""Initial parameters drawn from one seeded generator in a documented order.

Order of draws from ``np.random.default_rng(seed)``: forward weights W_1..W_L (each
(n_l, n_{l-1})), then feedback matrices of hidden layers 1..L-1 (random and learned:
(n_l, n_{l+1}); direct: (n_l, n_L)). Biases start at zero. Every backend starts
from these arrays, so the same seed gives the same network everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def draw(init, shape, rng) -> np.ndarray:
    n_out, n_in = shape
    if init.dist == "zeros":
        return np.zeros(shape)
    if init.dist == "uniform":
        return rng.uniform(-init.scale, init.scale, shape)
    if init.dist == "uniform_positive":
        return rng.uniform(0.0, init.scale, shape)
    if init.dist == "normal":
        return rng.normal(0.0, init.scale, shape)
    limit = init.scale * np.sqrt(6.0 / (n_in + n_out))  # glorot_uniform
    return rng.uniform(-limit, limit, shape)


@dataclass
class Params:
    W: list  # W[l-1]: (n_l, n_{l-1}) for layers 1..L
    b: list  # b[l-1]: (n_l,)
    B: dict = field(default_factory=dict)  # hidden layer index l -> feedback matrix

    def copy(self) -> "Params":
        return Params([w.copy() for w in self.W], [v.copy() for v in self.b],
                      {k: v.copy() for k, v in self.B.items()})


def init_params(network, seed: int) -> Params:
    rng = np.random.default_rng(seed)
    sizes = network.sizes
    W = [draw(network.init, (sizes[l], sizes[l - 1]), rng) for l in range(1, len(sizes))]
    b = [np.full(layer.size, float(layer.bias_init)) for layer in network.layers[1:]]
    B = {}
    for l in range(1, len(sizes) - 1):
        fb = network.feedback_of(l)
        if fb.kind in ("random", "learned"):
            B[l] = draw(fb.init, (sizes[l], sizes[l + 1]), rng)
        elif fb.kind == "direct":
            B[l] = draw(fb.init, (sizes[l], sizes[-1]), rng)
    return Params(W, b, B)
