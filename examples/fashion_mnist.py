"""Feedback alignment and backprop on Fashion-MNIST (784-1000-10), from Debian's
dataset-fashion-mnist package (apt-get install dataset-fashion-mnist).

    python examples/fashion_mnist.py [--tiny] [--epochs N]
"""

import neurolearn
from _common import SPECS, parser
from neurolearn.data.idx import DataNotFound


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=None)
    args = p.parse_args()
    for name, label in (("fa_fashion_mnist", "FA"), ("bp_fashion_mnist", "BP")):
        spec = neurolearn.load(SPECS / f"{name}.toml")
        if args.tiny:  # a slice of the data and a small hidden layer
            spec.data.n_train, spec.data.n_test = 2000, 500
            spec.network.layers[1].size = 100
        try:
            res = neurolearn.run(spec, epochs=args.epochs or (2 if args.tiny else None))
        except DataNotFound as err:
            raise SystemExit(f"fashion_mnist: {err}")
        print(f"{label}: test accuracy {100 * res.test_accuracy:.2f} % "
              f"({res.epochs} epochs, {res.train_seconds:.0f} s)")

if __name__ == "__main__":
    main()
