"""Loading shared by the scripts of benchmarks/scale/: an instance for the floors (the sum of
latencies), and a list of instances from the command line, each with a clear error on bad input."""

from __future__ import annotations

import sys
from collections.abc import Callable

from optdist.instance import Instance, InstanceError, load_instance
from optdist.jsonfile import DocumentError, Problem


def latency_instance(path: str, what: str) -> Instance | None:
    """The instance at ``path`` whose objective is the sum of latencies (``what``: which part
    of the script prices it, for the message), or None after printing the error to stderr:
    a missing file, a broken document or another objective (the message names the file, the
    field and the fix)."""
    try:
        inst = load_instance(path)
        if inst.objective.kind != "latency":
            raise InstanceError(path, [Problem("objective.kind", f"{inst.objective.kind!r}: {what} "
                                               "the sum of latencies", "set objective.kind to 'latency'")])
    except (FileNotFoundError, DocumentError) as e:  # InstanceError is a DocumentError
        print(f"{sys.argv[0]}: error: {e}", file=sys.stderr)
        return None
    return inst


def run_on_instances(main: Callable[[list[str]], None], script: str) -> None:
    """``main(paths)`` on the instance files given on the command line; exits with the usage
    line when none is given, and with the message (file, field, fix) on a missing or bad one."""
    if len(sys.argv) < 2:
        sys.exit(f"usage: python benchmarks/scale/{script} INSTANCE.json ...")
    try:
        main(sys.argv[1:])
    except (FileNotFoundError, DocumentError) as e:  # the message names the file, the field and the fix
        sys.exit(f"{sys.argv[0]}: error: {e}")
