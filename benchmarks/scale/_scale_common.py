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
    """``main(paths)`` on the instance files given on the command line; exits with status 2 and
    the usage line when none is given or an option is (these scripts take none), and with status
    2 and the message (file, field, fix) on a missing or bad one."""
    usage = f"usage: python benchmarks/scale/{script} INSTANCE.json ..."
    paths = sys.argv[1:]
    options = [p for p in paths if p.startswith("-")]  # none taken: every argument is a file
    if not paths or options:
        what = "no instance given" if not paths else "no options are taken: " + " ".join(options)
        print(f"{usage}\n{script}: error: {what} (fix: give instance files, e.g. "
              "instances/coupled/lenet-8x4-rpi3.json)", file=sys.stderr)
        sys.exit(2)
    try:
        main(paths)
    except (FileNotFoundError, DocumentError) as e:  # the message names the file, the field and the fix
        print(f"{sys.argv[0]}: error: {e}", file=sys.stderr)
        sys.exit(2)
