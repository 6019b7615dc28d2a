"""SCIP through pyscipopt and ``pyomo.contrib.solver`` (``scip_direct``).

Typical raw options: ``"limits/nodes" = 10000``, ``"presolving/maxrounds" = 0``,
``"display/verblevel" = 4``. SCIP solves on one thread (``threads`` sets ``lp/threads`` only).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import Any, ClassVar

from optdist.solvers.base import ContribSolver, Feature

PARAMS_URL = "https://www.scipopt.org/doc/html/PARAMETERS.php"


@contextlib.contextmanager
def _native_stderr() -> Iterator[list[str]]:
    """While the block runs, what native code writes to file descriptor 2 is captured; the
    yielded list holds its non-empty lines afterwards (nothing is captured without a descriptor 2)."""
    lines: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:
        yield lines
        return
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            f.seek(0)
            lines += [x for x in f.read().decode(errors="replace").splitlines() if x.strip()]


class Scip(ContribSolver):
    """SCIP (Apache 2.0, ``pip install pyscipopt``: the wheel bundles SCIP)."""

    name = "scip"
    pyomo_name = "scip_direct"
    features = frozenset({Feature.WARM_START, Feature.SEED, Feature.BOUND, Feature.NODES})
    install_hint = "pip install pyscipopt   (or: pip install 'optdist[solvers]')"
    option_names: ClassVar[dict[str, str]] = {
        "time_limit": "limits/time",
        "mip_gap": "limits/gap",
        "seed": "randomization/randomseedshift",
    }

    def _check_raw(self, options: dict[str, Any], where: str) -> None:
        """Each raw option through pyscipopt on a throwaway ``Model``: the parameter must exist
        (``getParam``) and ``setParam`` must accept the value. SCIP's own complaint (printed on
        file descriptor 2 as ``[paramset.c:...] ERROR`` lines) is captured into the message."""
        import pyscipopt

        m = pyscipopt.Model()
        m.hideOutput()
        for key, value in options.items():
            try:
                m.getParam(key)
            except KeyError:
                raise ValueError(f"{where}: SCIP has no parameter {key!r} (fix: a name from {PARAMS_URL})") from None
            with _native_stderr() as said:
                try:
                    m.setParam(key, value)
                    refused = None
                except (ValueError, TypeError, LookupError) as e:
                    refused = e
            if refused is not None:
                why = said[0].split("ERROR: ", 1)[-1] if said else str(refused)
                raise ValueError(f"{where}: SCIP refuses {key} = {value!r}: {why} (fix: see {PARAMS_URL})")

    def _nodes(self, opt: Any, res: Any) -> int | None:
        model = getattr(opt, "_solver_model", None)
        return None if model is None else int(model.getNNodes())
