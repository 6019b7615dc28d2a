"""Defences chosen jointly with the placement (issue 6 item 3; MODEL.md section 8).

Method ``defended``: ``optdist.solve(inst, method="defended", ...)`` / ``optdist solve FILE
--method defended``. The instance's ``defence`` field (:class:`~optdist.instance.DefenceSpec`
per CNN) lists what may be used; CNNs without an entry are distributed only.

**Options of a CNN.** Layers ``k = 0..L-1`` (0-based, as :class:`PrivacyLimits`), split point
``SP``, base limits ``(Nf_k, cap_k, src_k)`` of MODEL.md section 6 at the instance's ``tau``.
Laplace DP with per-element budget ``eps`` on the output of layer ``c`` has, by
:func:`~optdist.defences.dp_effect.measured_effects`, a measured accuracy drop ``a(c, eps)`` (%)
and attacker SSIM ``s(c, eps)``; ``F(c, eps) = [s(c, eps) <= tau]`` and ``s`` measurably (by more
than two standard errors) below the no-noise SSIM (the layers after ``c`` see only noised data). ``s`` counts only if it was measured under the attacker of the CNN's privacy
table or a stronger one (:func:`table_attacker`: the one the table records in its provenance, at
least the calibration attacker), at that eps, from ``c``'s own tensor or, for an unmeasured ``c`` between two measured tensors,
the larger accuracy drop and SSIM of the two; a ``(c, eps)``
without such an entry is not offered (the reason is listed in ``options_rejected``): tau is an
SSIM of the table's attacker, so a weaker attacker's SSIM would not mean the same privacy.
Each option changes only the CNN's limits (a modified copy):

* ``distribute``:     the base limits;
* ``dp(c, eps)``:     ``src_k = 1`` for ``k <= c`` (the trusted source computes up to the cut and
  adds the noise); for ``k > c`` no Nf (``cap_k = none``, ``src_k = [k = L-1]``) if ``F``,
  else the base limits;
* ``hybrid(c, eps)``: the base limits for ``k <= c`` (distributed under Nf; each owner of layer
  ``c`` noises the maps it sends, with the calibrated bound ``B`` shared: every element is
  clipped to ``B`` as in Algorithm 1) and, for ``k > c``, as ``dp(c, eps)``.

A DP option is admissible iff ``c + 1 < min(SP, L-1)`` (an intermediate layer under a limit
follows the cut: otherwise the noise protects nothing that needed it, and ``dp`` at ``c = L-2``
would run the whole CNN on the source), ``F(c, eps)`` (noise that frees nothing buys no privacy),
the total accuracy drop ``a(c, eps) + a_q <= A_max`` (``max_accuracy_drop_pct``) and,
for ``hybrid``, layer ``c`` is not a conv layer (a conv owner holds partial sums of every output
map: the noised partial sums would add up, so the measured accuracy would not hold). The limits of
``(mode, c)`` do not depend on which admissible ``eps`` is used, so only
``eps*(c) = argmin_eps a(c, eps)`` (ties: the larger eps) is kept.

**DefQ and the expected load** (``quantization``). A ``quantization`` entry declares that the CNN
is served with early exits (internal classifiers) and describes THAT deployment: its early exit is
reached after a share ``f`` (``exit_work_share``) of a request's multiplications, and
``late_share_clean``, ``late_share_attacked``, ``late_share_defended`` are the shares of clean
requests, of attacked ones with DefQ off and with DefQ on that go past it. The profile of the CNN
says nothing about exits, so :func:`check_defence` refuses an entry that leaves any of these four
(:data:`EXIT_SHARE_FIELDS`) to its default (pydantic ``model_fields_set``): the defaults are the
measured values of the multi-exit MNIST CNN of :mod:`optdist.defences.multiexit`
(benchmarks/defences/defq_eval), to be copied only for a deployment like it. A CNN without an entry
runs every layer for every request (``w = 1``). A share ``alpha`` of the requests are slow-down
attacks; ``l_x`` is ``late_share_defended`` with DefQ on, else ``late_share_attacked``. Expected
share of a request's work

    w = f + (1 - f) ((1 - alpha) l_clean + alpha l_x)    (w = 1 without ``quantization``)

(10c) then holds in expectation over the period: ``w sum A c_k + n_s q <= cap_i``, i.e. the
capacity the placement may use is ``(cap_i - n_s q) / w``, with ``q = 35 H W C`` DefQ
multiplications per image (:func:`optdist.defences.defq.ops_per_image`) on a source serving
``n_s`` requests with DefQ on (0 on devices). ``w`` is taken over the whole request (a uniform
scaling of its layers: exact in total, approximate per layer) and, with several CNNs, as the
largest ``w`` among them (conservative). A request's latency stays its full-path latency (a late
request needs every stage); DefQ adds ``q / e_s`` seconds on its source and ``a_q`` accuracy-%.
With ``use: off`` the entry scales the load by the early exits only (``x = attacked``; no DefQ
time, no DefQ accuracy cost). A scaled load is labelled with its factor (:func:`choice_text`), never
"distribution alone".

**Joint choice, exact by enumeration.** For every combination ``o`` of one option per CNN, the
instance with the modified limits and capacities is solved by an exact method (default: the
decomposed MILP), giving the placement objective ``Z(o)`` with lower bound ``LB(o)``, and

    score(o) = Z(o) + T_q(o) + sum_n w_n a_n(o) R_n

(``T_q`` = sum over requests of their DefQ time, the largest one for a makespan objective;
``w_n`` = ``accuracy_weight`` in s per %, ``a_n`` the CNN's total accuracy drop, ``R_n`` its
requests). The least score wins (ties within 1e-9 relative: the smaller accuracy drop, then the
fewer shared bytes, then distribute < hybrid < dp). ``LB* = min_o (LB(o) + C(o))`` over the options not proven infeasible
(``C = score - Z``) is a lower bound on the least score; the result reports ``objective = Z(o*)``
and ``bound = LB* - C(o*)``, so ``objective - bound = score(o*) - LB*``.

**Scoring against the defended limits.** An assignment does not say which defence protects it,
so the result carries the defended instance (its limits and compute capacities) in
``SolveResult.scored_on``; :func:`optdist.solve` re-scores the placement there, against exactly
the constraints that hold with the chosen defence. The caller's instance is never changed.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from optdist.attacks.attacker import Attacker, for_table
from optdist.cli import refuse_repeats
from optdist.defences import defq
from optdist.defences.dp_effect import DPEffect, measured_effects
from optdist.instance import (
    DefenceSpec,
    Instance,
    InstanceError,
    Problem,
    QuantizationSpec,
    resolve,
)
from optdist.jsonfile import json_text, quoted, value_text
from optdist.options import is_whole
from optdist.privacy import PrivacyLimits, resolve_table
from optdist.result import SolveResult, Termination
from optdist.solvers.base import stoppable

MODE_RANK = {"distribute": 0, "hybrid": 1, "dp": 2}
MAX_COMBINATIONS = 256
TIE_RTOL = 1e-9


@dataclass(frozen=True)
class Option:
    """One CNN's defence and what it costs (see the module docstring)."""

    cnn: str
    mode: str  # distribute | dp | hybrid
    limits: PrivacyLimits
    cut: str | None = None
    eps: float | None = None
    dp_drop_pct: float = 0.0
    attacker_ssim: float | None = None
    dp_source: str | None = None  # measured | paper
    provenance: str = ""
    defq: bool | None = None  # None: no quantization entry (served without early exits)
    load_factor: float = 1.0  # w
    defq_drop_pct: float = 0.0

    @property
    def accuracy_drop_pct(self) -> float:
        return self.dp_drop_pct + self.defq_drop_pct

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "limits"}
        return {**out, "accuracy_drop_pct": self.accuracy_drop_pct}


def defended_limits(base: PrivacyLimits, mode: str, cut: int | None = None, frees: bool = False) -> PrivacyLimits:
    """The limits of ``distribute``, ``dp(cut)`` or ``hybrid(cut)`` (``frees`` = ``F(c, eps)``)."""
    if mode == "distribute":
        return base
    if mode not in ("dp", "hybrid") or cut is None:
        raise ValueError(f"mode {json_text(mode)} needs a cut; modes: distribute, dp, hybrid")
    L = len(base.nf)
    nf, cap, src = list(base.nf), list(base.device_cap), list(base.on_source)
    if mode == "dp":
        for k in range(cut + 1):
            nf[k], cap[k], src[k] = None, None, True
    if frees:
        for k in range(cut + 1, L):
            nf[k], cap[k], src[k] = None, None, k == L - 1
    sp = min(base.split_point, cut + 1) if frees else base.split_point
    return dataclasses.replace(base, split_point=sp, nf=tuple(nf), device_cap=tuple(cap), on_source=tuple(src))


def load_factor(q: QuantizationSpec | None, on: bool) -> float:
    """``w = f + (1 - f) ((1 - alpha) l_clean + alpha l_x)``; 1 without a quantization spec."""
    if q is None:
        return 1.0
    late = (1 - q.attack_share) * q.late_share_clean + q.attack_share * (
        q.late_share_defended if on else q.late_share_attacked
    )
    return q.exit_work_share + (1 - q.exit_work_share) * late


def check_defence(inst: Instance) -> None:
    """Problems of ``inst.spec.defence`` that the schema cannot see; raises :class:`InstanceError`."""
    problems = []
    for cnn, spec in inst.spec.defence.items():
        if cnn not in inst.profiles:
            problems.append(Problem(f"defence.{cnn}", f"no request uses CNN {quoted([cnn])}",
                                    f"key the options by a CNN of the requests ({quoted(sorted(inst.profiles))}), e.g. "
                                    f'"defence": {{{quoted(sorted(inst.profiles)[:1])}: {{"mode": "auto"}}}}, or remove the entry'))
            continue
        names = [la.name for la in inst.profiles[cnn].layers]
        if spec.quantization is not None:
            problems += _exit_share_problems(cnn, spec.quantization)
        for field, values, example, what in (("epsilons", spec.epsilons, "[5, 7, 10]", "eps"),
                                             ("cuts", spec.cuts, '["pool1", "ReLU2"]', "layer")):
            try:  # the one rule of dp-effect's --eps and dp-sweep's: each value once
                refuse_repeats(list(values or []), f'"{field}":', example, what)
            except ValueError as e:
                problems.append(Problem(f"defence.{cnn}.{field}", str(e).split(" (fix: ")[0],
                                        f"give each {what} once, e.g. \"{field}\": {example}"))
        for i, c in enumerate(spec.cuts or []):
            if c not in names:
                problems.append(Problem(f"defence.{cnn}.cuts[{i}]", f"{quoted([c])} is not a layer of {cnn}",
                                        f"use layers of {cnn}: {quoted(names)}"))
    if problems:
        raise InstanceError(str(inst.path) if inst.path else inst.name, problems)


#: the fields of a ``quantization`` entry that describe the CNN's early-exit deployment: an entry
#: must set each of them (their defaults are the multi-exit MNIST CNN's measured values)
EXIT_SHARE_FIELDS = ("exit_work_share", "late_share_clean", "late_share_attacked", "late_share_defended")


def _exit_share_problems(cnn: str, q: QuantizationSpec) -> list[Problem]:
    """The refusal of a ``quantization`` entry that leaves an exit share to its default."""
    missing = [f for f in EXIT_SHARE_FIELDS if f not in q.model_fields_set]
    if not missing:
        return []
    example = ", ".join(f'"{f}": {QuantizationSpec.model_fields[f].default:g}' for f in missing)
    return [Problem(
        f"defence.{cnn}.quantization",
        f"leaves {', '.join(missing)} to the defaults: a quantization entry declares that {cnn} is served with "
        f"early exits, and its shares must describe that deployment (the profile of {cnn} has no exits to read "
        "them from)",
        f"set {', '.join(missing)} in defence.{cnn}.quantization to the measured shares of {cnn}'s early-exit "
        "deployment; the defaults are the multi-exit MNIST CNN's measured values (benchmarks/defences/defq_eval), "
        f"to copy only for a deployment like it: {example}; or remove \"quantization\" (served with its final "
        "classifier only: no DefQ)")]


def table_attacker(inst: Instance, cnn: str) -> tuple[Attacker, str]:
    """The attacker of the privacy table ``inst`` uses for ``cnn`` (or a stronger one), and why."""
    ref = inst.spec.privacy.get(cnn)
    table = None if ref is None else resolve_table(cnn, ref, inst.path.parent if inst.path else None, inst.profiles[cnn])
    try:
        return for_table(None if table is None else table.provenance)
    except ValueError as e:
        fix = "correct the table's provenance.attacker record (fields of optdist.attacks.attacker.Attacker) or remove it"
        raise InstanceError(str(inst.path) if inst.path else inst.name, [Problem(f"privacy.{cnn}", f"attacker: {e}", fix)]) from e


def _dp_choices(inst: Instance, cnn: str, spec: DefenceSpec) -> tuple[list[tuple[str, int, DPEffect]], list[dict]]:
    """Admissible ``(mode, cut, eps*)`` before the DefQ drop, and the rejected ``(mode, cut)`` with why."""
    modes = [m for m in ("dp", "hybrid") if spec.mode in (m, "auto")]
    if not modes:
        return [], []
    prof, base = inst.profiles[cnn], inst.limits[cnn]
    L, tau = prof.n_layers, inst.spec.tau
    last = min(base.split_point, L - 1) - 1  # cuts c < last: layer c+1 is intermediate and before SP
    cuts = spec.cuts if spec.cuts is not None else [la.name for la in prof.layers[:last]]
    attacker, _ = table_attacker(inst, cnn)
    out, rejected = [], []
    for c in cuts:
        k = prof.index(c)
        effects, missing = measured_effects(cnn, c, tau, attacker, spec.epsilons) if k < last else ([], None)
        freeing = [e for e in effects if e.frees_downstream]
        best = min(freeing, key=lambda e: (e.accuracy_drop_pct, -e.eps), default=None)
        for mode in modes:
            if k >= last:
                why = f"layer {c} is followed by no intermediate layer before the split point (SP = {base.split_point})"
            elif mode == "hybrid" and prof.layers[k].kind == "conv":
                why = "conv cut: its owners hold partial sums, the noise would add up (accuracy not modelled)"
            elif missing is not None:
                why = f"no measured entry (not offered): {missing}"
            elif best is None and any(e.note for e in effects):  # under tau, but not measurably below no noise
                low = min(effects, key=lambda e: e.attacker_ssim)
                why = (f"no eps frees the layers after it measurably: at the {'only' if len(effects) == 1 else 'least'} "
                       f"SSIM (eps {low.eps:g}) " + (low.note or f"attacker SSIM {low.attacker_ssim:.3f} > tau {tau}"))
            elif best is None:
                why = f"no eps on the grid frees the layers after it (least attacker SSIM {min(e.attacker_ssim for e in effects):.3f} > tau {tau})"
            elif best.accuracy_drop_pct > spec.max_accuracy_drop_pct:
                why = f"accuracy drop {best.accuracy_drop_pct:.2f}% at eps {best.eps:g} > bound {spec.max_accuracy_drop_pct}%"
            else:
                out.append((mode, k, best))
                continue
            rejected.append({"cnn": cnn, "mode": mode, "cut": c, "reason": why})
    return out, rejected


def cnn_options(inst: Instance, cnn: str) -> tuple[list[Option], list[dict]]:
    """Admissible options of ``cnn`` (DP choices x DefQ choices) and the rejected ones with why."""
    spec = inst.spec.defence.get(cnn, DefenceSpec(mode="distribute"))
    q = spec.quantization
    q_uses = [None] if q is None else {"off": [False], "on": [True], "auto": [False, True]}[q.use]
    dp_choices, rejected = _dp_choices(inst, cnn, spec)
    base = inst.limits[cnn]
    options = []
    for on in q_uses:
        q_drop = q.accuracy_drop_pct if on else 0.0
        common = {"defq": on, "load_factor": load_factor(q, bool(on)), "defq_drop_pct": q_drop}
        if spec.mode in ("distribute", "auto"):
            options.append(Option(cnn, "distribute", base, **common))
        for mode, k, e in dp_choices:
            if e.accuracy_drop_pct + q_drop > spec.max_accuracy_drop_pct:
                rejected.append({"cnn": cnn, "mode": mode, "cut": e.layer, "defq": on,
                                 "reason": f"DP {e.accuracy_drop_pct:.2f}% + DefQ {q_drop:.2f}% > bound {spec.max_accuracy_drop_pct}%"})
                continue
            lim = defended_limits(base, mode, k, frees=True)
            options.append(Option(cnn, mode, lim, e.layer, e.eps, e.accuracy_drop_pct, e.attacker_ssim, e.source,
                                  e.provenance, **common))
    return options, rejected


def _say_unoffered(inst: Instance, per_cnn: dict[str, list[Option]]) -> None:
    """On stderr (log warning): epsilons of a defence entry the sweep never measured (not offered:
    else said only in ``options_rejected``, i.e. in --out, and the run silently kept distribution alone)."""
    import logging

    from optdist.defences.dp_effect import load_measured

    log = logging.getLogger("optdist")
    where = str(inst.path) if inst.path else inst.name
    for cnn in per_cnn:
        spec = inst.spec.defence.get(cnn)
        if spec is None or spec.mode == "distribute":
            continue
        meas = load_measured(cnn)
        if spec.epsilons is not None and meas is not None:
            grid = sorted({r["eps"] for e in meas["layers"].values() for r in e["rows"] if r["mode"] == "dp"})
            off = [e for e in spec.epsilons if not np.isclose(grid, e, rtol=1e-9, atol=0).any()]
            if off:
                log.warning("%s: defence.%s.epsilons: %s not measured by the DP sweep of %s, so not offered (fix: "
                            "measured values: %s, or \"epsilons\": null)", where, cnn,
                            ", ".join(f"{e:g}" for e in off) + (" is" if len(off) == 1 else " are"), cnn,
                            ", ".join(f"{e:g}" for e in grid))


def say_cuts_not_taken(inst: Instance, per_cnn: dict[str, list[Option]], rejected: list[dict]) -> list[str]:
    """On stderr (log warning), one line per cut a ``defence`` entry names (``cuts``) that no option
    offers, with each reason (fixd32b: before, only ``extra.options_rejected`` said why, and the run
    printed "defence distribution alone"); returns the lines."""
    import logging

    log = logging.getLogger("optdist")
    where = str(inst.path) if inst.path else inst.name
    lines = []
    for cnn, options in per_cnn.items():
        spec = inst.spec.defence.get(cnn)
        if spec is None or not spec.cuts:
            continue
        offered = {o.cut for o in options if o.cut is not None}
        if any(o.mode == "distribute" for o in options) and not offered:
            left = f"{cnn} is placed with distribution alone"
        else:
            left = f"the cuts offered: {', '.join(sorted(offered))}" if offered else "no option left"
        for cut in spec.cuts:
            if cut in offered:
                continue
            why = [f"{r['mode']} at {cut}" + ("" if r.get("defq") is None else f" with DefQ {'on' if r['defq'] else 'off'}")
                   + f": {r['reason']}" for r in rejected if r["cnn"] == cnn and r["cut"] == cut]
            lines.append(f"{where}: defence.{cnn}.cuts: {cut} not taken ({'; '.join(why) or 'no option at it'}); "
                         f"{left}")
    for line in lines:
        log.warning("%s", line)
    return lines


class NoAdmissibleOption(InstanceError):
    """A CNN's ``defence`` entry admits no option (before any solve): each rejected option with
    its reason and the fix. Not an infeasible instance: distribution alone may well place it."""


def check_admissible(inst: Instance, per_cnn: dict[str, list[Option]], rejected: list[dict]) -> None:
    """Raise :class:`NoAdmissibleOption` where a CNN's entry leaves it no option: the run would
    solve nothing and call the instance infeasible (it reported ``termination infeasible``, an
    infeasibility diagnosis that found nothing, and ``options_rejected`` only in --out)."""
    problems = []
    for cnn, options in per_cnn.items():
        if options:
            continue
        spec = inst.spec.defence[cnn]
        reasons = [f"{r['mode']} at {r['cut']}"
                   + ("" if r.get("defq") is None else f" with DefQ {'on' if r['defq'] else 'off'}")
                   + f": {r['reason']}" for r in rejected if r["cnn"] == cnn]
        problems.append(Problem(f"defence.{cnn}", f"no admissible defence option (mode {json_text(spec.mode)}); "
                                + (f"rejected: {'; '.join(reasons)}" if reasons else "no cut to try"),
                                _no_option_fix(cnn, spec)))
    if problems:
        raise NoAdmissibleOption(str(inst.path) if inst.path else inst.name, problems,
                                 "nothing was solved; the instance itself may be feasible with distribution alone "
                                 "(`optdist solve FILE` without --method defended)")


def _no_option_fix(cnn: str, spec: DefenceSpec) -> str:
    fixes = ['"mode": "auto" (also offers distribution alone)']
    if spec.epsilons is not None:
        fixes.append('"epsilons": null (every measured eps) or eps values measured at the cut (listed above)')
    if spec.cuts is not None:
        fixes.append('"cuts": null (every admissible cut)')
    fixes.append(f'a larger "max_accuracy_drop_pct" (now {spec.max_accuracy_drop_pct:g})')
    return f"in defence.{cnn} set " + ", or ".join(fixes)


def choice_text(choice: dict[str, Any]) -> str:
    """One CNN's chosen defence (an :meth:`Option.as_dict`) in words: "DP at pool1, eps 7 (7.2 %
    accuracy cost)", "distribution alone", "+ DefQ" where quantization is on."""
    mode = choice.get("mode")
    words = ("distribution alone" if mode == "distribute" else
             f"{'DP' if mode == 'dp' else 'hybrid DP'} at {choice.get('cut')}, eps {_eps_text(choice.get('eps'))}")
    if choice.get("defq"):
        words += " + DefQ"
    w = choice.get("load_factor")
    if _is_number(w) and w != 1:  # the capacities were scaled too: not distribution alone
        words += f" with expected load factor {w:.4g} (early exits)"
    cost = choice.get("accuracy_drop_pct")
    return words + (f" ({cost:.1f} % accuracy cost)" if isinstance(cost, (int, float)) and cost else "")


def _eps_text(eps: Any) -> str:
    return f"{eps:g}" if _is_number(eps) else json_text(eps)


def defences_text(defence: dict[str, dict[str, Any]], cnns: int | None = None) -> str:
    """:func:`choice_text` of each CNN of a result's ``extra["defence"]``, prefixed by the CNN's
    name where there are several."""
    many = len(defence) > 1 if cnns is None else cnns > 1
    return "; ".join((f"{cnn}: " if many else "") + choice_text(c) for cnn, c in sorted(defence.items()))


_CHECKED_NUMBERS = ("attacker_ssim", "dp_drop_pct", "defq_drop_pct", "accuracy_drop_pct", "load_factor")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def distribution_alone(extra: Any) -> bool:
    """Whether a ``defended`` result's ``extra`` records distribution alone for every CNN (mode
    ``distribute``, DefQ off): what ``--method defended`` chooses on an instance without a
    ``defence`` entry, whose placement is scored under the plain limits, as the result was. Scoring
    it on such an instance then ignores no defence: before, ``optdist evaluate`` and
    :func:`optdist.evaluate.evaluate` said "the defence it records is ignored" (fix: "evaluate on
    the instance the result was solved on") on the very instance it was solved on."""
    defence = extra.get("defence") if isinstance(extra, dict) else None
    return (isinstance(defence, dict) and bool(defence)
            and all(isinstance(c, dict) and c.get("mode") == "distribute" and not c.get("defq") for c in defence.values()))


def rescored_instance(inst: Instance, extra: Any, where: str) -> Instance:
    """The defended instance a ``defended`` result's placement was scored on, rebuilt from its
    ``extra`` (``defence``: the choice of each CNN; ``defended_limits``: its limits, checked
    against the choice) on ``inst``. The choice is re-derived on ``inst``: it must be one of the
    options ``inst``'s defence entry admits (:func:`cnn_options`: attacker SSIM <= tau, accuracy
    drop <= the entry's bound, its measured eps), with the numbers optdist has for it. ValueError
    naming ``where``, the field and the fix where the result does not say (e.g. a result whose
    extra was removed), is malformed, or does not match ``inst``."""
    from optdist.defences.dp import EPS_RULE, eps_ok

    fix = (f"re-solve: `optdist solve {inst.path if inst.path else inst.name} --method defended --out RESULT`, "
           "and evaluate that unchanged result file on the instance it was solved on")

    def refuse(field: str, what: str) -> ValueError:
        return ValueError(f'{where}: field "{field}": {what} (fix: {fix})')

    defence = extra.get("defence") if isinstance(extra, dict) else None
    if not isinstance(defence, dict) or not defence:
        raise refuse("extra.defence", "a result of method defended must record the chosen defence of each CNN, "
                     "without it the limits its placement holds are unknown")
    base = resolve(inst.spec, inst.path)
    combo = {}
    for cnn in sorted(base.limits):
        f = f"extra.defence.{cnn}"
        c = defence.get(cnn)
        if not isinstance(c, dict):
            raise refuse(f, f"no chosen defence for CNN {cnn} of {inst.name} (its CNNs: {quoted(sorted(base.limits))})")
        mode = c.get("mode")
        if mode not in MODE_RANK:
            raise refuse(f"{f}.mode", f"{json_text(mode)} is not a defence mode (modes: {', '.join(MODE_RANK)})")
        prof = base.profiles[cnn]
        cut, eps, on = c.get("cut"), c.get("eps"), c.get("defq")
        if mode != "distribute" and cut not in [la.name for la in prof.layers]:
            raise refuse(f"{f}.cut", f"{json_text(cut)} is not a layer of {cnn}")
        if mode == "distribute" and (cut is not None or eps is not None):
            raise refuse(f"{f}.cut" if cut is not None else f"{f}.eps",
                         f"distribution alone has no cut and no eps (got {json_text(cut if cut is not None else eps)})")
        if mode != "distribute" and (not _is_number(eps) or not eps_ok(eps)):
            raise refuse(f"{f}.eps", f"{json_text(eps)} is not a Laplace budget optdist takes ({EPS_RULE})")
        if on not in (None, True, False):
            raise refuse(f"{f}.defq", f"{json_text(on)} is not true, false or null")
        for key in _CHECKED_NUMBERS:
            if c.get(key) is not None and not _is_number(c[key]):
                raise refuse(f"{f}.{key}", f"{json_text(c[key])} is not a number")
        options, rejected = cnn_options(base, cnn)
        same = [o for o in options if o.mode == mode and o.cut == cut and o.defq == on]
        if not same:
            spec = inst.spec.defence.get(cnn)
            why = [r["reason"] for r in rejected
                   if r["mode"] == mode and r["cut"] == cut and r.get("defq", on) == on]
            ssim = c.get("attacker_ssim")
            if mode != "distribute" and _is_number(ssim) and ssim > inst.spec.tau:
                why.insert(0, f"its recorded attacker SSIM {ssim:.3f} > tau {inst.spec.tau:g}")
            admitted = "; ".join(choice_text(o.as_dict()) for o in options) or "none"
            raise refuse(f, f"{choice_text(c)} is not an option "
                         + (f"{inst.name} admits: it has no defence entry for {cnn}" if spec is None
                            else f"defence.{cnn} of {inst.name} admits")
                         + (f" ({'; '.join(why)})" if why else "") + f"; admitted: {admitted}")
        o = same[0]
        if o.eps != eps:
            raise refuse(f"{f}.eps", f"{eps:g} is not the eps optdist uses for {mode} at {cut} on {inst.name} "
                         f"(its measured eps: {o.eps:g})")
        for key in _CHECKED_NUMBERS:
            mine = getattr(o, key)
            said = c.get(key)
            differs = (mine is None) != (said is None) or (
                mine is not None and not np.isclose(said, mine, rtol=1e-9, atol=1e-12))
            if differs:
                raise refuse(f"{f}.{key}", f"{json_text(said)} is not what optdist measured for "
                             f"{choice_text(o.as_dict())} on {inst.name} ({json_text(mine)})")
        combo[cnn] = o
    d = defended_instance(base, combo)
    said = extra.get("defended_limits")
    if said is None:
        raise refuse("extra.defended_limits", "missing: a result of method defended records the limits its "
                     "placement was solved under")
    mine = {c: {"split_point": lim.split_point, "nf": lim.nf, "device_cap": lim.device_cap,
                "on_source": lim.on_source} for c, lim in d.limits.items()}
    if json.loads(json.dumps(mine)) != json.loads(json.dumps(said)):
        raise refuse("extra.defended_limits", f"does not match the limits of its chosen defence "
                     f"({defences_text(defence)}) on {inst.name}: made for another instance or edited")
    return d


def defended_instance(base: Instance, combo: dict[str, Option]) -> Instance:
    """``base`` with each CNN's limits replaced and the compute capacities ``(cap - n_s q) / w``."""
    limits = {cnn: combo[cnn].limits for cnn in base.limits}
    w = max(o.load_factor for o in combo.values())
    defq_load = np.zeros(base.n_nodes)
    for r in range(base.n_requests):
        if combo[base.request_cnn[r]].defq:
            defq_load[base.request_source[r]] += defq_ops(base, r)
    cap = np.maximum(base.compute_capacity - defq_load, 0.0) / w
    return dataclasses.replace(base, limits=limits, compute_capacity=cap)


def charges(inst: Instance, combo: dict[str, Option]) -> dict[str, float]:
    """``T_q`` (DefQ seconds on the sources) and the accuracy charge ``sum_n w_n a_n R_n`` (s)."""
    t_q = [
        defq_ops(inst, r) / float(inst.mults_per_s[inst.request_source[r]])
        for r in range(inst.n_requests) if combo[inst.request_cnn[r]].defq
    ]  # fmt: skip
    acc = 0.0
    for r in range(inst.n_requests):
        cnn = inst.request_cnn[r]
        spec = inst.spec.defence.get(cnn)
        acc += 0.0 if spec is None else spec.accuracy_weight * combo[cnn].accuracy_drop_pct
    defq_s = (max(t_q) if inst.objective.kind == "makespan" else sum(t_q)) if t_q else 0.0
    return {"defq_s": defq_s, "accuracy_s": acc}


def defq_ops(inst: Instance, r: int) -> int:
    """``q = 35 H W C``: DefQ multiplications for request r's input image."""
    c, h, w = inst.profile(r).input_shape
    return defq.ops_per_image(h, w, c)


def _limits_key(inst: Instance) -> tuple:
    lims = tuple((c, lim.split_point, lim.nf, lim.device_cap, lim.on_source) for c, lim in sorted(inst.limits.items()))
    return lims, tuple(np.round(inst.compute_capacity, 6))


def _solve_exact(inst: Instance, inner: str, opts: dict[str, Any]) -> SolveResult:
    """Solve one defended instance; re-scored by the evaluator on that instance."""
    from optdist.solve import solve

    if inner != "milp":
        opts = {k: v for k, v in opts.items() if k in ("time_limit", "seed", "threads")}
    return solve(inst, method=inner, **opts)


@stoppable
def solve_defended(
    inst: Instance,
    *,
    inner: str = "milp",
    formulation: str = "decomposed",
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    max_combinations: int = MAX_COMBINATIONS,
) -> SolveResult:
    """Choose each CNN's defence jointly with the placement, exactly by enumeration.

    ``inner``: the method solving each defended instance (``milp``, exact, with ``formulation``
    ``decomposed`` | ``compact`` | ``per-map``; or a heuristic such as ``greedy``: then the result
    is not certified). ``time_limit``: total seconds, shared equally among the solves still to
    run (None: each solve uses its method's default). Returns the defended instance in
    ``scored_on`` (module docstring) and records the choice in ``extra["defence"]``.
    """
    t0 = time.perf_counter()
    if not (is_whole(max_combinations, integral=True) and max_combinations >= 1):  # 0 said "1 combinations > 0: restrict ..."
        raise ValueError(f"method defended: max_combinations = {value_text(max_combinations)} is not a whole number >= 1 "
                         f"(fix: e.g. max_combinations={MAX_COMBINATIONS}, the default)")
    check_defence(inst)
    base = resolve(inst.spec, inst.path)
    cnns = sorted(base.limits)
    per_cnn, rejected = {}, []
    for cnn in cnns:
        per_cnn[cnn], rej = cnn_options(base, cnn)
        rejected += rej
    check_admissible(inst, per_cnn, rejected)
    _say_unoffered(inst, per_cnn)
    say_cuts_not_taken(inst, per_cnn, rejected)
    n_comb = int(np.prod([len(per_cnn[c]) for c in cnns]))
    if n_comb > max_combinations:
        raise ValueError(f"{n_comb} defence combinations > max_combinations {max_combinations} (fix: restrict the "
                         "\"cuts\", \"epsilons\" or \"mode\" of the instance's defence entries, or raise max_combinations)")
    combos = [dict(zip(cnns, o)) for o in itertools.product(*(per_cnn[c] for c in cnns))]
    instances = [defended_instance(base, combo) for combo in combos]
    keys = [_limits_key(d) for d in instances]
    opts = {"formulation": formulation, "solver": solver, "mip_gap": mip_gap, "threads": threads, "seed": seed}
    opts = {k: v for k, v in opts.items() if v is not None}
    solved: dict[tuple, SolveResult] = {}
    todo = list(dict.fromkeys(keys))
    for n, key in enumerate(todo):
        d = instances[keys.index(key)]
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 0.0) / (len(todo) - n)
        solved[key] = _solve_exact(d, inner, {**opts, **({} if left is None else {"time_limit": max(left, 0.1)})})
    rows = []
    for combo, key, d in zip(combos, keys, instances):
        r = solved[key]
        ch = charges(base, combo)
        const = ch["defq_s"] + ch["accuracy_s"]
        ok = r.evaluation is not None and r.evaluation.feasible
        z = (r.objective if r.objective is not None else r.evaluation.objective) if ok else None
        rows.append({"combo": combo, "instance": d, "result": r, "objective": z, "const": const,
                     "score": None if z is None else z + const,
                     "accuracy_drop_pct": sum(o.accuracy_drop_pct for o in combo.values()),
                     "shared_bytes": r.evaluation.total_shared_bytes if ok else None,
                     "rank": max(MODE_RANK[o.mode] for o in combo.values()), **ch})
    res = _assemble(inst, rows, rejected, solved, t0, inner, formulation, solver)
    res.options = {"inner": inner, "formulation": formulation, "solver": solver, "time_limit": time_limit,
                   "mip_gap": mip_gap, "threads": threads, "seed": seed}
    return res


def _assemble(inst: Instance, rows: list[dict], rejected: list[dict], solved: dict, t0: float,
              inner: str, formulation: str, solver: str) -> SolveResult:
    """Pick the least score, certify it and build the result (scored on the defended instance)."""
    chosen = pick(rows)
    infeasible = [row["result"].termination is Termination.INFEASIBLE for row in rows]
    bound = None
    open_rows = [row for row, inf in zip(rows, infeasible) if not inf]
    if chosen is not None and all(row["result"].bound is not None for row in open_rows):
        bound = min(row["result"].bound + row["const"] for row in open_rows) - chosen["const"]
    terms = {r.termination for r in solved.values()}
    if chosen is None:
        term = Termination.INFEASIBLE if all(infeasible) else Termination.NO_SOLUTION
    elif terms <= {Termination.OPTIMAL, Termination.INFEASIBLE}:
        term = Termination.OPTIMAL
    elif terms & {Termination.TIME_LIMIT, Termination.NO_SOLUTION}:
        term = Termination.TIME_LIMIT
    else:
        term = Termination.FEASIBLE
    defended = chosen["instance"] if chosen else resolve(inst.spec, inst.path)
    r = chosen["result"] if chosen else None
    extra: dict[str, Any] = {
        "defence": {} if chosen is None else {c: o.as_dict() for c, o in chosen["combo"].items()},
        "accuracy_cost_pct": {} if chosen is None else {c: o.accuracy_drop_pct for c, o in chosen["combo"].items()},
        "score": None if chosen is None else chosen["score"],
        "charges_s": None if chosen is None else {"defq": chosen["defq_s"], "accuracy": chosen["accuracy_s"]},
        "defended_limits": {c: {"split_point": lim.split_point, "nf": lim.nf, "device_cap": lim.device_cap,
                                "on_source": lim.on_source} for c, lim in defended.limits.items()},
        "options_tried": [_row_summary(row) for row in rows],
        "options_rejected": rejected,
        "solves": len(solved),
    }
    if not rows:
        extra["reason"] = "no admissible defence option (see options_rejected)"
    return SolveResult(
        instance=inst.name,
        method="defended",
        termination=term,
        objective=None if chosen is None else chosen["objective"],
        bound=bound,
        wall_time=time.perf_counter() - t0,
        solver=solver if inner == "milp" else None,
        formulation=formulation if inner == "milp" else inner,
        nodes=sum(s.nodes or 0 for s in solved.values()),
        assignment=None if r is None else r.assignment,
        extra=extra,
        scored_on=defended,
    )


def pick(rows: list[dict]) -> dict | None:
    """The row of least ``score`` (None: infeasible); ties within :data:`TIE_RTOL`: the least
    ``accuracy_drop_pct``, then the least ``shared_bytes``, then ``rank`` (distribute < hybrid < dp)."""
    feas = [row for row in rows if row["score"] is not None]
    if not feas:
        return None
    least = min(row["score"] for row in feas)
    ties = [row for row in feas if row["score"] <= least + TIE_RTOL * max(abs(least), 1e-12)]
    return min(ties, key=lambda row: (row["accuracy_drop_pct"], row["shared_bytes"], row["rank"]))


def _row_summary(row: dict) -> dict[str, Any]:
    r: SolveResult = row["result"]
    ev = r.evaluation
    keep = ("mode", "cut", "eps", "attacker_ssim", "dp_source", "dp_drop_pct", "defq", "load_factor", "defq_drop_pct")
    return {
        "choice": {c: {k: getattr(o, k) for k in keep} for c, o in row["combo"].items()},
        "termination": str(r.termination),
        "objective": row["objective"],
        "bound": r.bound,
        "gap": r.gap,
        "score": row["score"],
        "charges_s": row["const"],
        "accuracy_drop_pct": row["accuracy_drop_pct"],
        "rank": row["rank"],
        "feasible": None if ev is None else ev.feasible,
        "total_latency_s": None if ev is None else ev.total_latency,
        "shared_bytes": None if ev is None else ev.total_shared_bytes,
        "wall_time_s": r.wall_time,
    }
