"""``neurolearn import net.nir --out DIR``: read a NIR graph into a spec plus weights
(a checkpoint directory, kind ``weights``)."""

from __future__ import annotations

from .options import path


def register(sub):
    p = sub.add_parser("import", help="read a NIR file into a spec plus weights")
    p.add_argument("nir", type=path, metavar="FILE", help="the .nir file")
    p.add_argument("--out", type=path, metavar="DIR", required=True,
                   help="checkpoint directory to write (spec + weights)")
    p.add_argument("--spec", type=path, metavar="PATH", default=None,
                   help="also write the spec as a .toml or .json file")
    p.set_defaults(func=main)


def main(args) -> int:
    from ..deploy.nirgraph import import_file
    from ..rules.io import save
    net = import_file(args.nir)
    d = net.save(args.out)
    print(f"imported   {args.nir}: {net.spec.name}, sizes {net.spec.network.sizes}")
    print(f"checkpoint {d}")
    if args.spec:
        save(net.spec, args.spec)
        print(f"spec       {args.spec}")
    return 0
