"""``neurolearn rules``: the built-in rules, a line each."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("rules", help="list the built-in plasticity rules")
    p.add_argument("-v", "--verbose", action="store_true", help="show each rule's terms")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..rules.ir import FEEDBACK_MEANING
    from ..rules.library import BUILTIN_RULES
    width = max(map(len, BUILTIN_RULES))
    for rule in BUILTIN_RULES.values():
        print(f"{rule.name:<{width}}  {rule.summary}")
        if args.verbose:
            for t in rule.terms:
                print(f"{'':<{width}}    {t}")
            print(f"{'':<{width}}    neurons: {rule.needs}; source: {rule.reference}")
    print("\nfeedback pathways (network.feedback.kind):")
    for k, v in FEEDBACK_MEANING.items():
        print(f"  {k:<10} {v}")
    return 0
