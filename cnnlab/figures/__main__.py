"""Command line: ``python -m cnnlab.figures [NAME ...] [--out DIR] [--list]``."""
from __future__ import annotations

import argparse

from . import IMG_DIR, build, load_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnnlab.figures", description="Regenerate the course figures.")
    parser.add_argument("names", nargs="*", help="figures to build (default: all)")
    parser.add_argument("--out", default=str(IMG_DIR), help="output folder (default: the repository's img/)")
    parser.add_argument("--list", action="store_true", help="list the registered figures and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, fn in sorted(load_all().items()):
            print(f"{name:32s} {fn.__module__}")
        return 0
    for path in build(args.names or None, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
