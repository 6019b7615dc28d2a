"""Where the batched decision time goes: CPU milliseconds per VGG16 request, by part.

    .venv/bin/python benchmarks/online/decision_split.py              # 8 requests
    .venv/bin/python benchmarks/online/decision_split.py --requests 12
    .venv/bin/python benchmarks/online/decision_split.py --default-heap   # without keep_freed_heap

Places the first requests of ``instances/paper/vgg16-250x70-tau0.6.json`` with the tracked
policy ``models/policies/mix-70`` (masked), then with the same network unmasked (the paper's
policies pick among all candidate devices), and prints per request after the first (the first
has no guess and is decided segment by segment; its times are printed apart): wall and CPU
(``time.process_time``) time of the decisions, and the CPU time of the batched path's parts: building the states along the
guess (:func:`optdist.rl.trajectory.layer_states`), numbering the round's distinct device rows
(``Scorer._row_ids``), the float64 MLP on few (row, segment index) pairs and the interpolation
between them (``Scorer._q_pairs``), the rest of ``Scorer.choose`` and placing the kept segments
(``LayerState.commit``). CPU per request is counted from one request's start to the next's
(:func:`request_cpu`, also used by ``decisions.py``). The parts are timed
by wrapping those functions in this process only (the wrappers add a few microseconds a call).
CPU time is the number to compare on a shared machine; wall time includes waiting for a core.
It also prints, per request after the first, the rounds (batched forwards), the states they
built and the segments decided one by one (:func:`optdist.rl.decide.decide_segment`), and how
much of the mean CPU the costliest 5 % of the requests make (where capacity binds, the
unmasked policy's guesses miss in a few requests, which then take hundreds of rounds).
Minor page faults (``ru_minflt``) of each variant's run count memory handed back to the system
and faulted in again (see :func:`optdist.rl.decide.keep_freed_heap`).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]

from optdist.cli import FlagError, number_flag  # noqa: E402
from optdist.heuristics.incremental import LayerState  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.rl import decide  # noqa: E402
from optdist.rl.policy import Policy, load_policy, place_online  # noqa: E402

PARTS = ("layer_states", "row_ids", "q_pairs", "choose", "commit")


def _timed(owner: object, name: str, part: str, spent: dict[str, float], batched: Callable[..., bool]) -> None:
    """Wrap ``owner.name`` so that calls with ``batched(*args)`` true add their CPU seconds to ``spent[part]``."""
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        if not batched(*args):
            return inner(*args, **kwargs)
        c = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[part] += time.process_time() - c

    setattr(owner, name, wrapper)


@contextmanager
def request_cpu() -> Iterator[list[float]]:
    """The CPU seconds (``time.process_time``) of each request placed by :mod:`optdist.rl.decide` in
    the ``with`` block, in arrival order: from one request's :class:`RequestPlacer` to the next's
    (the last one's ends with the block). The list is filled when the block ends."""
    stamps: list[float] = []
    real = decide.RequestPlacer

    class Stamped(real):
        def __init__(self, *args, **kwargs):
            stamps.append(time.process_time())
            super().__init__(*args, **kwargs)

    out: list[float] = []
    decide.RequestPlacer = Stamped
    try:
        yield out
    finally:
        decide.RequestPlacer = real
        out.extend(np.diff(stamps + [time.process_time()]).tolist())


def _counted(counts: dict[str, np.ndarray]) -> None:
    """Wrap :func:`decide.layer_states` and :func:`decide.decide_segment` (this process only) to add,
    per request ``r``, the rounds and states built to ``counts["rounds"][r]``, ``counts["states"][r]``
    and the segments decided one by one to ``counts["alone"][r]``."""
    states, segment = decide.layer_states, decide.decide_segment

    def layer_states(feats, r, st, actions):
        counts["rounds"][r] += 1
        counts["states"][r] += len(actions)
        return states(feats, r, st, actions)

    def decide_segment(choose, feats, r, *args):
        counts["alone"][r] += 1
        return segment(choose, feats, r, *args)

    decide.layer_states, decide.decide_segment = layer_states, decide_segment


def _costliest(cpu: list[float]) -> str:
    """How much of the mean CPU per request (after the first) the costliest 5 % of the requests make."""
    c = np.sort(np.asarray(cpu[1:]))[::-1] * 1e3
    k = max(1, round(0.05 * len(c)))
    return (f"the costliest {k} requests make {c[:k].sum() / len(c):.1f} ms of the mean (max {c[0]:.0f}), "
            f"the other {len(c) - k} average {c[k:].mean():.1f} ms" if len(c) > k else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", default=8, help="requests placed (the first is not counted)",
                    action=number_flag("a whole number of requests, at least 2 (the first request is decided segment "
                                       "by segment)", "8", whole=True, within=lambda v: v >= 2))
    ap.add_argument("--default-heap", action="store_true",
                    help="skip decide.keep_freed_heap (glibc hands freed rounds back: the cost it removes)")
    try:  # before: --requests x was argparse's "invalid int value", with no fix
        args = ap.parse_args(argv)
    except FlagError as e:
        ap.error(str(e))
    inst = load_instance(ROOT / "instances" / "paper" / "vgg16-250x70-tau0.6.json")
    if args.requests > inst.n_requests:
        ap.error(f"--requests {args.requests}: {inst.name} has {inst.n_requests} requests (fix: give at most "
                 f"{inst.n_requests}, e.g. --requests 8)")
    torch.set_num_threads(1)
    if args.default_heap:
        decide.keep_freed_heap = lambda: None  # this process only
    spent = dict.fromkeys(PARTS, 0.0)
    _timed(decide, "layer_states", "layer_states", spent, lambda *a: True)
    _timed(decide.Scorer, "_row_ids", "row_ids", spent, lambda self, dev: len(dev.last) > 1)  # a batched round
    _timed(decide.Scorer, "_q_pairs", "q_pairs", spent, lambda self, glob, *a: len(glob) > 1)
    _timed(decide.Scorer, "choose", "choose", spent, lambda self, glob, *a: len(glob) > 1)
    _timed(LayerState, "commit", "commit", spent, lambda self, nodes: len(nodes) > 1)
    inst = inst.with_spec(requests=inst.spec.requests[: args.requests])
    counts = {key: np.zeros(args.requests, dtype=np.int64) for key in ("rounds", "states", "alone")}
    _counted(counts)
    policy = load_policy(ROOT / "models" / "policies" / "mix-70")
    n = args.requests - 1
    for variant, masked in (("masked", True), ("unmasked", False)):
        pol = Policy(policy.net, {**policy.config, "masked": masked})
        for part in PARTS:
            spent[part] = 0.0
        for c in counts.values():
            c[:] = 0
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        with request_cpu() as cpu:
            _, wall, seg = place_online(inst, pol, warmup=False)  # the first request as it costs unguessed
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        spent["choose"] -= spent["row_ids"] + spent["q_pairs"]  # choose's own work besides its two parts
        parts = ", ".join(f"{p} {1e3 * spent[p] / n:.1f}" for p in PARTS)
        print(f"{variant}: {int(np.median(seg))} segments/request; after the first request: wall "
              f"{1e3 * np.mean(wall[1:]):.1f} ms, CPU {1e3 * np.mean(cpu[1:]):.1f} ms per request "
              f"(max {1e3 * np.max(cpu[1:]):.1f}); CPU ms per request by part: {parts} "
              f"(first request: wall {1e3 * wall[0]:.0f} ms, CPU {1e3 * cpu[0]:.0f} ms); minor page faults, "
              f"all requests: {faults}; per request after the first: {counts['rounds'][1:].mean():.1f} rounds of "
              f"{counts['states'][1:].mean():.0f} states, {counts['alone'][1:].mean():.1f} segments decided one by one; "
              f"{_costliest(cpu)}", flush=True)
    print("load average", ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
