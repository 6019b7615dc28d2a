"""One request alone, as ``optdist solve`` runs a one-request instance (README, the note on
HiGHS's overrun): the decomposition's exact single-request solve
(:func:`optdist.milp.decomposition.single.solve_single`, HiGHS, one thread) on the request
``--request`` of ``instance`` kept alone, printing for each model it builds the size of the
``tight`` model (variables, integer variables, constraints) and its build time, and for each
load into HiGHS the load time, then the solve's result. ``--write`` also saves the one-request
instance (for ``optdist solve FILE --warm-start greedy --time-limit 240 --threads 1``)::

    nice -n 10 python benchmarks/milp/one_request_model.py instances/paper/hetero-250x70-tau0.8.json \
        --request r3 --time-limit 25 --write /tmp/vgg16-r3.json

A missing or bad instance, an unknown request id or a time limit <= 0 exit with status 2 and
a message naming the file or option and the fix.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import optdist.milp.decomposition.single as single
import optdist.solvers.highs as highs
from optdist.instance import MAX_BYTES, InstanceError, parse
from optdist.io import atomic_write_json
from optdist.jsonfile import DocumentError, read_json


def one_request(path: Path, request: str) -> dict[str, Any]:
    """The instance document at ``path`` with only the request ``request`` (renamed
    ``<name>-<request>``); raises ``ValueError`` naming the ids there are if it is not one."""
    data = read_json(path, MAX_BYTES, InstanceError, "instance")
    parse(data, str(path), path)  # the whole document is valid first (file, field, fix on error)
    ids = [r["id"] for r in data["requests"]]
    if request not in ids:
        raise ValueError(f"{path}: --request {request!r} is not a request id there "
                         f"(fix: one of {', '.join(ids[:8])}{', ...' if len(ids) > 8 else ''})")
    return dict(data, name=f"{data['name']}-{request}", requests=[r for r in data["requests"] if r["id"] == request])


def timed_steps() -> None:
    """Wrap the single solve's model build and HiGHS's load so that each prints its time."""
    build, prepare = single.build, highs.Highs._prepare

    def timed_build(*args: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        b = build(*args, **kw)
        print(f"built in {time.perf_counter() - t0:.2f} s: {b.stats()}", flush=True)
        return b

    def timed_prepare(self: Any, opt: Any, model: Any) -> bool:
        t0 = time.perf_counter()
        out = prepare(self, opt, model)
        print(f"loaded into HiGHS in {time.perf_counter() - t0:.2f} s", flush=True)
        return out

    single.build, highs.Highs._prepare = timed_build, timed_prepare


def main(argv: list[str] | None = None) -> int:
    """The run (exit status 0), or 2 after the message on bad input."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance")
    ap.add_argument("--request", required=True, help="the request id kept alone, e.g. r3")
    ap.add_argument("--time-limit", type=float, default=25.0, help="seconds for the single solve")
    ap.add_argument("--write", default=None, help="also write the one-request instance here")
    args = ap.parse_args(argv)
    path = Path(args.instance)
    try:
        if not (math.isfinite(args.time_limit) and args.time_limit > 0):
            raise ValueError(f"--time-limit {args.time_limit:g} (fix: give seconds > 0)")
        doc = one_request(path, args.request)
    except (FileNotFoundError, DocumentError, ValueError) as e:  # InstanceError is a DocumentError
        print(f"one_request_model.py: error: {e}", file=sys.stderr)
        return 2
    if args.write:
        print(f"wrote {atomic_write_json(args.write, doc)}")
    inst = parse(doc, str(path), path)
    timed_steps()
    res = single.solve_single(inst, 0, time_limit=args.time_limit, threads=1)
    print(f"{inst.name}: {res.termination.value}, objective {res.objective}, bound {res.bound}, "
          f"{res.seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
