"""A rule written from terms by the user, with no library code: Oja's rule
(dw = eta (x y - y^2 w)) finds the first principal component, and BCM
(dw = eta x y (y - theta), theta = <y^2>) becomes selective to one pattern.

    python examples/custom_rule.py [--tiny]
"""

import numpy as np

from _common import parser
from neurolearn.reference.trainer import BatchedTrainer
from neurolearn.rules import Factor, Init, Layer, Network, Neuron, Rule, Spec, Term

pre = Factor("pre", "activity")
post = Factor("post", "activity")


def oja(steps):
    rule = Rule(name="oja", eta=0.01, terms=[
        Term([pre, post]),                                   # x y
        Term([post, post, Factor("syn", "w")], coeff=-1.0),  # - y^2 w
    ])
    net = Network([Layer("input", 5), Layer("out", 1, Neuron("linear"), bias=False)],
                  init=Init("uniform", 0.1))
    spec = Spec("oja", net, rule)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))
    cov = a @ a.T / 5
    chol = np.linalg.cholesky(cov)
    tr = BatchedTrainer(spec)
    for _ in range(steps):
        tr.step(rng.standard_normal((1, 5)) @ chol.T, np.zeros((1, 1)))
    w = tr.params.W[0][0]
    pc1 = np.linalg.eigh(cov)[1][:, -1]
    print(f"Oja: |w| = {np.linalg.norm(w):.3f}, |cos(w, PC1)| = "
          f"{abs(w @ pc1) / np.linalg.norm(w):.4f}")


def bcm(steps):
    theta = Factor("post", "activity_sq_avg", tau=20.0)
    rule = Rule(name="bcm", eta=0.02, terms=[
        Term([pre, post, post]),                 # x y^2
        Term([pre, post, theta], coeff=-1.0),    # - x y theta
    ])
    net = Network([Layer("input", 4), Layer("out", 1, Neuron("relu"), bias=False)],
                  init=Init("uniform_positive", 0.5))
    patterns = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], float)
    for seed in range(3):
        spec = Spec("bcm", net, rule)
        spec.training.seed = seed
        tr = BatchedTrainer(spec)
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            tr.step(patterns[[rng.integers(2)]], np.zeros((1, 1)))
        y = tr.predict(patterns)[:, 0]
        print(f"BCM seed {seed}: responses to patterns A, B = {y[0]:.2f}, {y[1]:.2f}")


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    oja(300 if args.tiny else 3000)
    bcm(500 if args.tiny else 5000)


if __name__ == "__main__":
    main()
