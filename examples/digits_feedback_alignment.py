"""Feedback alignment vs backprop (and DFA, Kolen-Pollack) on scikit-learn digits:
test accuracy and the angle between each rule's hidden update and backprop's.

    python examples/digits_feedback_alignment.py [--tiny]
"""

import neurolearn
from _common import SPECS, parser


def main():
    args = parser(__doc__.splitlines()[0]).parse_args()
    epochs = 2 if args.tiny else None
    print(f"{'rule':<24}{'test acc':>9}   angle to backprop (h1, h2)")
    for name in ("bp_digits", "fa_digits", "dfa_digits", "kp_digits", "burstprop_rate_digits"):
        res = neurolearn.run(SPECS / f"{name}.toml", epochs=epochs, quiet=True)
        angles = ", ".join(f"{a:5.1f}" for a in res.alignment_angle_deg.values())
        print(f"{name:<24}{100 * res.test_accuracy:8.2f}%   {angles}")


if __name__ == "__main__":
    main()
