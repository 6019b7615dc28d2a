"""The generic options every method takes (``time_limit``, ``mip_gap``, ``threads``, ``seed``)
and their ranges, checked the same way by ``optdist.solve``, the CLI, bench specs and the solver
adapters (:mod:`optdist.solvers.base` re-exports them). No heavy imports: ``optdist.solve``
checks the options of every method, the heuristics' too, without loading Pyomo."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

MAX_SEED = 2**31 - 1  # solvers take a 32-bit signed seed (HiGHS refused 2**31, SCIP overflowed)
GENERIC_OPTIONS = ("time_limit", "mip_gap", "threads", "seed")

#: the most threads any solve may ask for: HiGHS given 100000 starts that many workers (hangs for
#: minutes, ignoring its time limit and SIGTERM, 800 MB); no machine optdist runs on has more cores
MAX_THREADS = 256

#: allowed range of each generic option, as the error message states it
OPTION_RANGES = {
    "time_limit": "a finite number of seconds > 0",
    "mip_gap": "a relative gap in [0, 1] (1: stop at the first incumbent)",
    "threads": f"an integer in [1, {MAX_THREADS}]",
    "seed": "an integer in [0, 2147483647]",
}


def check_options(options: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Type- and range-check generic options (``None`` = not given); return the given ones.

    ``time_limit``: finite seconds > 0; ``mip_gap``: relative, in [0, 1]; ``threads``: integer
    in [1, :data:`MAX_THREADS`]; ``seed``: integer in [0, :data:`MAX_SEED`]. Raises ValueError
    naming the option, the value and the range: ``"time_limit = '5' is not a number (fix: give a
    finite number of seconds > 0)"`` for a value of another type (a string, a bool; ``threads``
    and ``seed``: any non-integer, e.g. 1.5, is "not a whole number"), as a bench spec says it
    (:func:`optdist.bench.spec.option_value_problem`); ``"... = -1 is out of range (fix: ...)"``
    for a number outside the range.
    """
    prefix = f"{where}: " if where else ""
    out: dict[str, Any] = {}
    for name, value in options.items():
        if value is None:
            continue
        if name not in OPTION_RANGES:
            raise ValueError(f"{prefix}unknown option {name!r}; generic options are {GENERIC_OPTIONS}")
        whole = name in ("threads", "seed")
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if whole else numbers.Real):
            raise ValueError(f"{prefix}{name} = {value!r} is not {'a whole number' if whole else 'a number'} "
                             f"(fix: give {OPTION_RANGES[name]})")
        if whole:
            ok = (1 if name == "threads" else 0) <= value <= (MAX_THREADS if name == "threads" else MAX_SEED)
        else:
            ok = math.isfinite(value) and (value > 0 if name == "time_limit" else 0 <= value <= 1)
        if not ok:
            raise ValueError(f"{prefix}{name} = {value!r} is out of range (fix: give {OPTION_RANGES[name]})")
        out[name] = value
    return out
