"""DistPrivacy greedy heuristic (paper section 4.2.2, ref. [34]).

Requests in arrival order; layers in order; each segment goes to the feasible node that adds
the least latency: the least new finish time ``f_j`` of its stage, so the stage time
``T_k = max_j f_j`` grows as little as possible (ties: the fastest node, then the least loaded,
then the lowest index: later layers compute faster and requests spread over the devices).
Every constraint is kept: (10b-d) capacities incl. the bandwidth its transfers add, (10f)
privacy caps, placement. A request that cannot be completed is rolled back and rejected
(``extra["rejected"]``); the greedy is deterministic, so a later request of the same CNN and
source is rejected without retrying until some request is admitted (usage unchanged). With
admission control off a rejection breaks the model by design: the result says so in
``extra["not_modelled"]`` (:data:`NOT_MODELLED`, as per-layer's), which ``optdist solve`` names
instead of "the method said feasible".
"""

from __future__ import annotations

import time

from optdist.heuristics.incremental import (
    OnlineOutcome,
    RequestPlacer,
    Usage,
    require_parallel_uplink,
)
from optdist.instance import Instance
from optdist.result import SolveResult

#: the violations the greedy makes by design, by family (as :data:`optdist.heuristics.per_layer.NOT_MODELLED`)
NOT_MODELLED = {
    "admission": "rejects requests with admission control off: greedy rejects a request it finds no room for in its one "
    "pass; the exact engine may place it (--method milp)",
}


def solve_greedy(
    inst: Instance, *, seed: int | None = None, time_limit: float | None = None, threads: int | None = None
) -> SolveResult:
    """Place every request greedily; rejected requests have no owners.

    Deterministic and fast: ``seed``, ``time_limit`` and ``threads`` are accepted for the common
    method interface and not used.
    """
    require_parallel_uplink(inst, "greedy")
    t0 = time.perf_counter()
    usage = Usage.zeros(inst.n_nodes)
    out = OnlineOutcome(inst)
    failed: set[tuple[str, int]] = set()  # (cnn, source) that failed since usage last changed
    for r in range(inst.n_requests):
        key = inst.request_class(r)
        rp = RequestPlacer(inst, usage, r)
        if key not in failed and rp.fill_greedy():
            out.accept(rp.owners, rp.latency, rp.shared)
            failed.clear()
        else:
            rp.rollback()  # same cnn, source and usage would fail the same way: skip those
            failed.add(key)
            out.reject(r)
    wall = time.perf_counter() - t0
    return out.result("greedy", wall, decision_ms_per_request=1e3 * wall / inst.n_requests,
                      not_modelled=dict(NOT_MODELLED))
