"""Run every benchmark module in this folder (or those named on the command line); options
after the names go to each named benchmark (``python -m benchmarks gpu --device cpu --tiny``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    names = [a for a in argv[:next((i for i, a in enumerate(argv) if a.startswith("-")),
                                   len(argv))]]
    options = argv[len(names):]
    here = Path(__file__).parent
    available = sorted(m.name for m in pkgutil.iter_modules([str(here)])
                       if not m.ispkg and m.name != "__main__")  # support/ is no benchmark
    unknown = sorted(set(names) - set(available))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    for name in names or available:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"== benchmarks.{name}", flush=True)
        started = time.perf_counter()
        module.main(options) if options else module.main()
        print(f"== benchmarks.{name}: {time.perf_counter() - started:.1f} s\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
