"""Why is an instance infeasible? A diagnosis in words (issue 3, item 5).

Two layers of evidence:

1. **Pre-solve checks** (numpy, milliseconds). Necessary conditions of MODEL.md sections 3-6,
   per request and layer, then summed over the requests that share a node:

   * a layer that must run on the source (eqs. 8, 9, 10h) needs ``P_k m_k`` bytes of memory
     and ``P_k c_k`` multiplications there (family ``memory`` / ``compute``);
   * a device layer needs ``sum_i u_i >= P_k`` where ``u_i`` is the most segments device i
     may own: privacy (10f) caps it at ``Nf``, memory at ``floor(mem_i / m_k)``, compute at
     ``floor(cap_i / c_k)``. The check names the family that makes the sum fall short
     (privacy alone: "needs at least 4 devices with 4 maps each at tau 0.8, but the instance
     has 3"; with memory: "... but only 2 devices have memory left for a segment");
   * a request's device layers together need ``sum_k P_k m_k`` memory and ``sum_k P_k c_k``
     multiplications on the devices (also summed over all requests);
   * bytes the source must send per period: the first layer's output to the devices
     (and again after every source-only layer, eq. 6), per request and summed over the
     requests of one source, against its ``bandwidth_capacity``; bytes the devices must
     send: into a source-only layer, and the partial sums of a conv layer that needs
     ``m >= 2`` owners (``>= (m - 1) x`` its output), against the devices' total.

   A failed check *proves* infeasibility (``feasible_by_checks = False``).

2. **Relaxations** (the MILP, :func:`optdist.milp.build` with ``relax=...``): the families
   ``privacy``, ``memory``, ``compute``, ``bandwidth`` (and, on request, ``placement``) are
   dropped alone, then in pairs and larger sets, and each relaxed model is solved for feasibility. The report
   lists the sets that restore feasibility and the minimal ones (no proper subset does). A solve
   that fails (termination ``error``, e.g. its CBC process killed) is a relaxation with status
   ``error`` and the solver's message as its note; :attr:`Diagnosis.solver_errors` lists the failures.

:func:`diagnose` returns a :class:`Diagnosis`; ``optdist diagnose FILE`` prints it.
"""

from __future__ import annotations

import itertools
import math
import signal
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field

import numpy as np

from optdist.evaluate import capacity_limit, share_text
from optdist.instance import Instance
from optdist.transfers import least_sent

#: the format of a diagnosis document (``optdist diagnose --json``)
FORMAT = "optdist-diagnosis/1"

RELAXABLE = ("placement", "privacy", "memory", "compute", "bandwidth")
#: Families relaxed by default. ``placement`` is left out: without it the trusted source may
#: run every layer, which restores feasibility in almost every instance and says little.
DEFAULT_FAMILIES = ("privacy", "memory", "compute", "bandwidth")


@dataclass
class Finding:
    """A check that fails: the constraint family, where, a sentence, and its numbers."""

    family: str  # placement | privacy | memory | compute | bandwidth
    where: str  # e.g. "request r3, layer ReLU2" or "source cam1" or "all requests"
    message: str
    numbers: dict = field(default_factory=dict)
    request: str | None = None
    layer: str | None = None
    node: str | None = None


@dataclass
class Relaxation:
    """One relaxed MILP: which families were left out and what the solver found."""

    families: tuple[str, ...]
    status: str  # feasible | infeasible | unknown (time limit without a solution) | interrupted (while built) | error (the solver failed, or the model could not be built: the note says why)
    seconds: float
    objective: float | None = None
    note: str = ""
    #: where the placement the relaxed model found breaks the families left out, one entry per family,
    #: e.g. ``compute at node(s) "rpi3-1", "rpi3-2"`` (one placement: a witness, not the only way)
    broken: list[str] = field(default_factory=list)


@dataclass
class Diagnosis:
    """The pre-solve findings and (if solved) the relaxations of one instance."""

    instance: str
    findings: list[Finding]
    relaxations: list[Relaxation] = field(default_factory=list)
    solved: bool = False
    milp_feasible: bool | None = None  # the full model: True / False / None (unknown or not solved)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    interrupted: str | None = None  # the signal that stopped the relaxations (SIGINT / SIGTERM), if any
    #: the solver calls that failed, one ``{"message": why, "solves": how many}`` per distinct
    #: message (:func:`~optdist.solvers.base.failure_counts`); empty when none did
    solver_errors: list[dict] = field(default_factory=list)

    @property
    def feasible_by_checks(self) -> bool:
        """False when a pre-solve check proves the instance infeasible."""
        return not self.findings

    @property
    def families(self) -> list[str]:
        """Families named by the findings, most frequent first."""
        cnt: dict[str, int] = defaultdict(int)
        for f in self.findings:
            cnt[f.family] += 1
        return sorted(cnt, key=lambda k: -cnt[k])

    @property
    def restoring(self) -> list[tuple[str, ...]]:
        """Relaxed family sets whose model is feasible."""
        return [r.families for r in self.relaxations if r.status == "feasible" and r.families]

    @property
    def minimal(self) -> list[tuple[str, ...]]:
        """Restoring sets none of whose proper subsets restores feasibility (among those tried)."""
        ok = [set(s) for s in self.restoring]
        return [tuple(sorted(s)) for s in ok if not any(o < s for o in ok)]

    @property
    def infeasible(self) -> bool | None:
        """True if proven infeasible (by a check or by the MILP), False if feasible, else None."""
        if self.findings:
            return True
        if self.milp_feasible is None:
            return None
        return not self.milp_feasible

    def report(self, max_findings: int = 12, command: str | None = None) -> str:
        """The diagnosis in words; ``command`` (e.g. ``optdist diagnose chain.json``): the command that
        tries the relaxations, named where the pre-solve checks find nothing and none were tried."""
        lines = [f"diagnosis of {self.instance}:"]
        if self.findings:
            lines.append(f"  INFEASIBLE, proven by {len(self.findings)} pre-solve check(s) "
                         f"(families: {', '.join(self.families)}):")
            for f in self.findings[:max_findings]:
                lines.append(f"  - [{f.family}] {f.where}: {f.message}")
            if len(self.findings) > max_findings:
                lines.append(f"  ... {len(self.findings) - max_findings} more")
        else:
            lines.append("  the pre-solve checks find nothing (they are necessary conditions only)"
                         + (f"; `{command}` solves the model with each constraint family left out and names "
                            "the families that make it infeasible" if command and not self.solved else ""))
        if self.solved:
            full = self.relaxations[0] if self.relaxations else None
            verdict = {True: "feasible", False: "infeasible",
                       None: f"unknown (stopped by {self.interrupted})" if self.interrupted
                       else "unknown (its solve failed)" if full is not None and full.status == "error"
                       else "unknown (no answer within the time limit)"}
            lines.append(f"  full MILP: {verdict[self.milp_feasible]}")
            if any(r.families for r in self.relaxations):
                lines.append("  relaxations (families left out -> relaxed model):")
                for r in self.relaxations:
                    if r.families:
                        lines.append(f"    {' + '.join(r.families):<36} {r.status}  ({r.seconds:.2f} s){'  ' + r.note if r.note else ''}")
                mins = self.minimal
                unanswered = sum(r.status not in ("feasible", "infeasible") for r in self.relaxations if r.families)
                if mins:  # a set that gave no answer may restore feasibility: the list is then not a proof
                    sets = "; ".join("{" + ", ".join(s) + "}" for s in mins)
                    lines.append(f"  minimal relaxation(s) restoring feasibility: {sets}"
                                 + (f" (among those answered: {unanswered} relaxation(s) gave no answer, see their "
                                    "status; a smaller or other set may restore it too)" if unanswered else ""))
                    lines += [f"    {{{', '.join(r.families)}}}: the placement the relaxed model found (one witness) breaks "
                              f"{'; '.join(r.broken)}" for r in self.relaxations
                              if r.broken and r.status == "feasible" and r.families in mins]
                elif self.milp_feasible is False:
                    lines.append("  no relaxation of the families tried restores feasibility"
                                 + (f" ({unanswered} of them gave no answer: see their status)" if unanswered else ""))
        for n in self.notes:
            lines.append(f"  note: {n}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "instance": self.instance,
            "feasible_by_checks": self.feasible_by_checks,
            "infeasible": self.infeasible,
            "families": self.families,
            "findings": [asdict(f) for f in self.findings],
            "solved": self.solved,
            "milp_feasible": self.milp_feasible,
            "relaxations": [asdict(r) for r in self.relaxations],
            "minimal": [list(s) for s in self.minimal],
            "seconds": self.seconds,
            "notes": self.notes,
            "interrupted": self.interrupted,
            "solver_errors": self.solver_errors,
        }


# --------------------------------------------------------------------------------------
# (a) pre-solve checks
# --------------------------------------------------------------------------------------
def _fmt_bytes(x: float) -> str:
    for unit, div in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if x >= div:
            return f"{x / div:.3g} {unit}"
    return f"{x:.0f} B"


def check(inst: Instance) -> list[Finding]:
    """Necessary conditions (module docstring, part 1); each failure is a :class:`Finding`."""
    out: list[Finding] = []
    D = inst.n_devices
    ids = inst.node_ids
    mem, comp, bw = inst.memory, inst.compute_capacity, inst.bandwidth_capacity
    # the most a node may use: the evaluator's and the models' capacity rule (messages name the capacity)
    lim_mem, lim_comp, lim_bw = (capacity_limit(np.asarray(a, dtype=float)) for a in (mem, comp, bw))
    tau = inst.spec.tau
    src_need = defaultdict(lambda: np.zeros(3))  # source node -> memory, compute, bytes sent (all its requests)
    src_reqs: dict[int, list[str]] = defaultdict(list)
    dev_need = np.zeros(3)  # memory, compute, bytes the devices must send (all requests)
    admission = inst.objective.admission
    for r in range(inst.n_requests):
        rid = inst.request_ids[r]
        prof, lim = inst.profile(r), inst.limit(r)
        s = int(inst.request_source[r])
        layers = prof.layers
        src_reqs[s].append(rid)
        need_src = np.zeros(3)
        need_dev = np.zeros(3)
        min_owners = [1] * len(layers)
        for k, la in enumerate(layers):
            P, m, c = la.segments, la.weight_bytes_per_segment, la.mults_per_segment
            where = f"request {rid}, layer {la.name}"
            if lim.on_source[k]:
                need_src += (P * m, P * c, 0.0)
                why = "first layer (eq. 8)" if k == 0 else ("last layer (eq. 9)" if k == len(layers) - 1 else
                                                            f"no untrusted device may see its input at tau {tau} (10h)")
                if P * m > lim_mem[s]:
                    out.append(Finding("memory", where, f"{la.name} must run on source {ids[s]} ({why}) and needs "
                                       f"{_fmt_bytes(P * m)} of weights, but the source has {_fmt_bytes(mem[s])}",
                                       {"needed": P * m, "capacity": float(mem[s])}, rid, la.name, ids[s]))
                if P * c > lim_comp[s]:
                    out.append(Finding("compute", where, f"{la.name} must run on source {ids[s]} ({why}) and needs "
                                       f"{P * c:,.0f} multiplications per period, but the source can do {comp[s]:,.0f}",
                                       {"needed": P * c, "capacity": float(comp[s])}, rid, la.name, ids[s]))
                continue
            need_dev += (P * m, P * c, 0.0)
            cap_priv = lim.device_cap[k]
            u_priv = np.full(D, P if cap_priv is None else min(cap_priv, P), dtype=np.int64)
            u_mem = np.full(D, P, dtype=np.int64) if m == 0 else np.minimum(P, np.floor(lim_mem[:D] / m * (1 + 1e-12))).astype(np.int64)
            u_cmp = np.full(D, P, dtype=np.int64) if c == 0 else np.minimum(P, np.floor(lim_comp[:D] / c * (1 + 1e-12))).astype(np.int64)
            u_all = np.minimum(np.minimum(u_priv, u_mem), u_cmp)
            per = int(u_priv.max()) if D else 0
            min_owners[k] = math.ceil(P / max(per, 1))
            if u_all.sum() >= P:
                continue
            nums = {"segments": P, "devices": D, "per_device_privacy": cap_priv, "nf": lim.nf[k],
                    "can_hold_privacy": int(u_priv.sum()), "can_hold_memory": int(u_mem.sum()),
                    "can_hold_compute": int(u_cmp.sum()), "can_hold_all": int(u_all.sum())}
            if D == 0:
                out.append(Finding("placement", where, f"{la.name} must run on devices but the instance has none", nums, rid, la.name))
                continue
            what = "maps" if la.kind != "conv" else "input maps"
            if u_priv.sum() < P:
                need_n = math.ceil(P / max(per, 1)) if per else None
                if per == 0 or la.kind == "fc":
                    msg = (f"{la.name} ({P} segment(s)) may not be placed on any untrusted device at tau {tau} "
                           f"(Nf = {lim.nf[k]}), and only the first, last and (10h) layers may run on the source")
                else:
                    msg = (f"{la.name} has {P} {what}; at tau {tau} a device may receive at most {per} "
                           f"(Nf = {lim.nf[k]}, governed by {lim.governing[k]}), so it needs at least {need_n} "
                           f"devices with {per} each, but the instance has {D}")
                out.append(Finding("privacy", where, msg, nums, rid, la.name))
                continue
            # privacy alone is fine: memory and/or compute make it fall short
            for fam, u_f, per_seg, unit in (("memory", u_mem, m, "of weights"), ("compute", u_cmp, c, "multiplications")):
                if per_seg == 0:
                    continue
                if np.minimum(u_priv, u_f).sum() < P:
                    have = int((u_f > 0).sum())
                    if la.kind == "fc" or P == 1:
                        msg = (f"{la.name} needs {_fmt_bytes(per_seg) if fam == 'memory' else f'{per_seg:,.0f}'} {unit} on one device, "
                               f"but no device has that much {'memory' if fam == 'memory' else 'compute per period'} "
                               f"(largest: {_fmt_bytes(float(mem[:D].max())) if fam == 'memory' else f'{comp[:D].max():,.0f}'})")
                    else:
                        need_n = math.ceil(P / max(per, 1))
                        spread = (f"at least {need_n} devices with {per} {what} each at tau {tau}" if cap_priv is not None
                                  else f"room for its {P} {what}")  # no privacy limit on the layer: no tau to name
                        msg = (f"{la.name} needs {spread} "
                               f"({_fmt_bytes(per_seg) if fam == 'memory' else f'{per_seg:,.0f}'} {unit} per segment), "
                               f"but only {have} device(s) have {'memory' if fam == 'memory' else 'compute'} left for "
                               f"even one segment and together they can hold {int(np.minimum(u_priv, u_f).sum())} of {P}")
                    out.append(Finding(fam, where, msg, nums, rid, la.name))
                    break
            else:
                out.append(Finding("memory" if m else "compute", where,
                                   f"{la.name}: memory and compute together leave room for {int(u_all.sum())} of its "
                                   f"{P} segments on the devices", nums, rid, la.name))
        # bytes (eq. 6): the source sends into every device layer that follows a source layer,
        # the devices into every source layer and the partial sums that cannot stay on their node
        sent_src, sent_dev = least_sent(prof, lim.on_source, min_owners)
        need_src[2] += sent_src
        need_dev[2] += sent_dev
        rwhere = f"request {rid}"
        for fam, idx, capv, unit in (("memory", 0, mem[s], "memory"), ("compute", 1, comp[s], "compute per period"),
                                     ("bandwidth", 2, bw[s], "bytes per period")):
            if idx < 2:
                continue  # per-layer checks above already cover the source's memory/compute per request
            if need_src[idx] > capacity_limit(capv):
                out.append(Finding(fam, rwhere + f", source {ids[s]}",
                                   f"source {ids[s]} must send at least {_fmt_bytes(need_src[idx])} per period "
                                   f"(the first layer's output to the devices, eq. 6) but its bandwidth capacity is "
                                   f"{_fmt_bytes(capv)}{share_text(need_src[idx], capv, 0)}",
                                   {"needed": float(need_src[idx]), "capacity": float(capv)}, rid, None, ids[s]))
        for fam, idx, unit in (("memory", 0, "memory"), ("compute", 1, "multiplications"), ("bandwidth", 2, "sent")):
            capd = float((mem, comp, bw)[idx][:D].sum())
            if D and need_dev[idx] > float((lim_mem, lim_comp, lim_bw)[idx][:D].sum()):
                out.append(Finding(fam, rwhere, f"the device layers of request {rid} need at least "
                                   f"{_fmt_bytes(need_dev[idx]) if idx != 1 else f'{need_dev[idx]:,.0f}'} {unit}"
                                   f" but all {D} devices together have {_fmt_bytes(capd) if idx != 1 else f'{capd:,.0f}'}",
                                   {"needed": float(need_dev[idx]), "capacity": capd}, rid))
        src_need[s] += need_src
        dev_need += need_dev
    if admission:
        return []  # requests may be rejected: nothing above is a proof of infeasibility
    # summed over the requests of one source, and over all requests on the devices
    singles = {(f.family, f.node) for f in out if f.request is not None}
    for s, need in src_need.items():
        if len(src_reqs[s]) < 2:
            continue
        for fam, idx, capv in (("memory", 0, mem[s]), ("compute", 1, comp[s]), ("bandwidth", 2, bw[s])):
            if need[idx] > capacity_limit(capv) and (fam, ids[s]) not in singles:
                what = {0: f"{_fmt_bytes(need[idx])} of weights", 1: f"{need[idx]:,.0f} multiplications",
                        2: f"to send at least {_fmt_bytes(need[idx])}"}[idx]
                capw = {0: _fmt_bytes(capv), 1: f"{capv:,.0f}", 2: _fmt_bytes(capv)}[idx]
                out.append(Finding(fam, f"source {ids[s]} ({len(src_reqs[s])} requests)",
                                   f"the {len(src_reqs[s])} requests of source {ids[s]} ({', '.join(src_reqs[s][:6])}"
                                   f"{'...' if len(src_reqs[s]) > 6 else ''}) together need {what} per period on it, "
                                   f"but its capacity is {capw}{share_text(need[idx], capv, 0)}; "
                                   f"each request alone fits",
                                   {"needed": float(need[idx]), "capacity": float(capv), "requests": len(src_reqs[s])},
                                   None, None, ids[s]))
    for fam, idx in (("memory", 0), ("compute", 1), ("bandwidth", 2)):
        capd = float((mem, comp, bw)[idx][:D].sum())
        if D and inst.n_requests > 1 and dev_need[idx] > float((lim_mem, lim_comp, lim_bw)[idx][:D].sum()) and not any(
                f.family == fam and f.where.startswith("request") and f.layer is None for f in out):
            out.append(Finding(fam, "all requests", f"the {inst.n_requests} requests need at least "
                               f"{dev_need[idx]:,.0f} {('bytes of memory', 'multiplications', 'bytes sent')[idx]} on the "
                               f"devices per period, but the {D} devices together have {capd:,.0f}"
                               f"{share_text(dev_need[idx], capd, 0)}",
                               {"needed": float(dev_need[idx]), "capacity": capd}))
    return out


# --------------------------------------------------------------------------------------
# (b) relaxations with the MILP
# --------------------------------------------------------------------------------------
def _feasible(inst: Instance, relax: frozenset[str], time_limit: float, threads: int | None,
              engine: str, solver: str) -> Relaxation:
    """Solve the model without ``relax`` for feasibility (stop at the first incumbent) with ``solver``.
    A SIGINT/SIGTERM while the model is built (inside :func:`diagnose`'s stop block) stops the build
    at once: ``interrupted``. A failed solve (termination ``error``) is ``error``, the solver's
    message its note."""
    from optdist.milp.model import BuildInterrupted

    t0 = time.perf_counter()
    fams = tuple(sorted(relax))
    try:
        from optdist.milp import build
        from optdist.result import Termination
        from optdist.solvers import get_solver

        b = build(inst, engine, relax=relax, interruptible=True)
        adapter = get_solver(solver)
        # stop at the first incumbent: a profile's own raw gap (e.g. mip_rel_gap) would override
        # mip_gap=1.0 inside the solver (Solver.requested_gap) and search on for a proof; the
        # diagnosis's gap is its own, so it is given raw too
        native = adapter.option_names.get("mip_gap")
        raw = {native: 1.0} if native is not None and native in adapter.solver_options else None
        out = adapter.solve(b.model, time_limit=time_limit, mip_gap=1.0, threads=threads, solver_options=raw)
        note, broken = "", []
        if out.has_solution:
            broken = _rescore(inst, b, relax, out, adapter.name)
        if out.termination == Termination.INFEASIBLE and not relax:
            _check_claim(inst, out, adapter.name, time_limit)
        if out.termination == Termination.INFEASIBLE:
            status = "infeasible"
        elif out.has_solution:
            status = "feasible"
        elif out.termination == Termination.ERROR:
            status = "error"
            note = out.extra.get("solver_error") or f"solver {adapter.name} ended in error (status {out.status})"
        else:
            status = "unknown"
        obj = None if out.incumbent is None else out.incumbent * b.time_unit
        return Relaxation(fams, status, time.perf_counter() - t0, obj, note, broken if status == "feasible" else [])
    except BuildInterrupted as e:
        return Relaxation(fams, "interrupted", time.perf_counter() - t0, note=str(e))
    except Exception as e:  # noqa: BLE001 - a relaxed model that cannot be built is reported, not fatal
        return Relaxation(fams, "error", time.perf_counter() - t0, note=f"{type(e).__name__}: {e}")


def _rescore(inst: Instance, b, relax: frozenset[str], out, solver: str) -> list[str]:
    """Re-score the placement the solver loaded into ``b`` (outcome ``out``) with the evaluator
    before it counts as ``feasible``: values that are no placement
    (:class:`~optdist.milp.extract.InvalidSolution`) or a placement that breaks a constraint of a
    family not in ``relax`` turn ``out`` into ``error``, ``extra["solver_error"]`` naming the solver
    and what was wrong (before, any answer read as "feasible" unchecked). Returns where the
    placement breaks the families in ``relax`` (:func:`_where_broken`; [] for none or an error)."""
    from optdist.evaluate import evaluate
    from optdist.milp.extract import InvalidSolution
    from optdist.milp.run import answer_invalid

    try:
        asg = b.to_assignment()
    except InvalidSolution as e:
        answer_invalid(out, solver, str(e))
        return []
    violations = evaluate(inst, asg).violations
    broken = [v for v in violations if v.constraint not in relax]
    if broken:
        answer_invalid(out, solver, f"its placement breaks {len(broken)} constraint(s) the model holds, first: "
                                    f"{broken[0].message}")
        return []
    return _where_broken([v for v in violations if v.constraint in relax])


def _where_broken(violations: list) -> list[str]:
    """One ``family at node(s) "a", "b"`` (or ``of request(s) ...`` where no node is named) per family
    of ``violations`` (:class:`~optdist.evaluate.Violation`), in the order first met."""
    from optdist.jsonfile import quoted

    nodes: dict[str, dict[str, None]] = {}
    requests: dict[str, dict[str, None]] = {}
    for v in violations:
        nodes.setdefault(v.constraint, {})
        if v.node is not None:
            nodes[v.constraint][v.node] = None
        elif v.request is not None:
            requests.setdefault(v.constraint, {})[v.request] = None
    return [f"{fam} at node(s) {quoted(at)}" if at else
            f"{fam} of request(s) {quoted(requests[fam])}" if fam in requests else fam for fam, at in nodes.items()]


def _check_claim(inst: Instance, out, solver: str, time_limit: float) -> None:
    """Before the full model's ``infeasible`` (outcome ``out``) is accepted: if a greedy placement
    (as ``optdist solve --warm-start greedy`` finds it, :func:`optdist.milp.run.greedy_disproof`)
    is feasible under the evaluator, the solver's claim is false: ``out`` becomes ``error``
    (:func:`optdist.milp.run.claim_refuted`, as in ``optdist solve``), so the relaxations, which
    would take its word, are not run, and the diagnosis ends "unknown", exit 1 as for a failed solver."""
    from optdist.milp.run import claim_refuted, greedy_disproof

    disproof = greedy_disproof(inst, time_limit)  # the one check, shared with optdist solve
    if disproof is not None:
        claim_refuted(out, solver, disproof[1].objective)


def diagnose(inst: Instance, *, solve: bool = True, time_limit: float = 60.0, threads: int | None = None,
             families: tuple[str, ...] = DEFAULT_FAMILIES, max_set: int | None = None,
             engine: str | None = None, solver: str = "highs") -> Diagnosis:
    """Pre-solve checks, then (``solve``) the full model and relaxations of constraint families.

    ``time_limit`` is the total budget of the MILP part in seconds; each relaxed model gets a share.
    Sets of relaxed families are tried by increasing size (up to ``max_set``); supersets of a
    set that already restores feasibility are skipped (they are feasible too). ``solver``: the
    adapter or profile of the MILP part (:func:`optdist.solvers.get_solver`: ValueError for an
    unknown name, :class:`~optdist.solvers.base.SolverUnavailable` when it is not installed). Solves
    that fail (e.g. a CBC process killed) are relaxations with status ``error`` and are listed in
    ``solver_errors``; the run goes on with the others.
    """
    t0 = time.perf_counter()
    d = Diagnosis(inst.name, check(inst))
    if not solve:
        d.seconds = time.perf_counter() - t0
        _period_note(d, inst)
        return d
    from optdist.solvers import get_solver
    from optdist.solvers.base import failure_counts, signals_received, solver_failures, stop_on_signals

    get_solver(solver).require()
    d.solved = True
    # a solve under way stops itself (its own block); then no more
    with stop_on_signals(lambda signum: None), solver_failures() as failed:
        _relax(d, inst, time_limit, threads, families, max_set, engine or "compact", solver, t0)
    d.solver_errors = failure_counts(failed)
    got = signals_received()
    if got:
        d.interrupted = signal.Signals(got[0]).name
        d.notes.append(f"stopped by {d.interrupted}: the relaxations not yet tried were skipped")
    d.seconds = time.perf_counter() - t0
    _period_note(d, inst)
    return d


def _period_note(d: Diagnosis, inst: Instance) -> None:
    """Note in ``d`` that compute and bandwidth capacities scale with ``period_s`` where one of those
    families makes ``inst`` infeasible (a finding or a minimal relaxation) and a node it rests on
    takes that capacity's default, ``mults_per_s * period_s`` or ``rate * period_s`` (MODEL.md
    section 6): a period too short reads as compute or bandwidth, and the report should name the
    field. A family's findings (proofs) rest on the source they name, or on the devices (a device
    layer, all requests); a family only a relaxation blames, on every node (it relaxes each node's
    capacity). Before, a source's default alone gave the note where the findings were of devices
    whose capacity is given (``instances/infeasible/lenet-1x4-compute.json``): no period changes those."""
    devices, sources = inst.spec.devices, {n.id: n for n in inst.spec.sources}

    def rests_on(family: str) -> list:
        found = [x for x in d.findings if x.family == family]
        if not found:
            return [*devices, *sources.values()]
        return [*(devices if any(x.node is None for x in found) else []),
                *(sources[x.node] for x in found if x.node in sources)]

    blamed = set(d.families) | {f for s in d.minimal for f in s}
    derived = {f: rule for f, cap, rule in (("compute", "compute_capacity", "mults_per_s x period_s"),
                                            ("bandwidth", "bandwidth_capacity", "rate x period_s"))
               if f in blamed and any(getattr(n, cap) is None for n in rests_on(f))}
    if derived:
        d.notes.append(f"{' and '.join(derived)} capacities are counted per period: period_s is {inst.spec.period_s:g} s, "
                       f"and a node's default {' and '.join(f'{f} capacity is {r}' for f, r in derived.items())} "
                       f"(fix: a longer \"period_s\" raises {'them' if len(derived) > 1 else 'it'}, as faster nodes do)")


def _relax(d: Diagnosis, inst: Instance, time_limit: float, threads: int | None, families: tuple[str, ...],
           max_set: int | None, eng: str, solver: str, t0: float) -> None:
    """:func:`diagnose`'s MILP part: the full model, then the relaxations, into ``d`` (none
    started once a signal came: :func:`~optdist.solvers.base.stop_requested`)."""
    from optdist.solvers.base import stop_requested

    n_sets = 2 ** len(families)
    per = max(time_limit / n_sets * 2, 1.0)
    full = _feasible(inst, frozenset(), per, threads, eng, solver)
    d.relaxations.append(full)
    d.milp_feasible = {"feasible": True, "infeasible": False}.get(full.status)
    if full.status == "error":
        d.notes.append(f"the full model could not be solved: {full.note}")
    if d.milp_feasible is not False:
        return
    found: list[set[str]] = []
    for size in range(1, (max_set or len(families)) + 1):
        for combo in itertools.combinations(families, size):
            if any(f <= set(combo) for f in found):
                continue
            if stop_requested():
                return
            left = time_limit - (time.perf_counter() - t0)
            if left <= 0:
                d.notes.append("time limit reached before every relaxation was tried")
                return
            rel = _feasible(inst, frozenset(combo), min(per, left), threads, eng, solver)
            d.relaxations.append(rel)
            if rel.status == "feasible":
                found.append(set(combo))
