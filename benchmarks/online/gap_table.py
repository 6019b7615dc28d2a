"""Gap table: online placement methods against the certified optimum (or the best bound).

    python benchmarks/online/gap_table.py                          # every set, every method (resumes)
    python benchmarks/online/gap_table.py --instances lenet-8x4-rpi3 --methods greedy plan-guided
    python benchmarks/online/gap_table.py --render                 # gap_table.{csv,md} and the figure from the records

Instances (``--instances``: names or paths; default :data:`DEFAULT`): every set of
``instances/coupled/`` with at most 20 requests (requests compete for capacity: their separate
optima do not fit together), the paper's LeNet 1x10, 3x10, 10x10 and 10x70 sets (requests do not
compete at the paper's 1 s period), its "tight" LeNet sets (capacities over a 3 ms period, made by
``benchmarks/milp/make_tight.py``: on 10 devices requests compete for radio bandwidth, on 70 they
do not) and its heterogeneous 250-request loads (the only 250-request sets with a reference in
``instances/paper.solu``). Sets of more than :data:`LARGE` requests run, without ``--methods``,
only the methods not in :data:`NOT_ON_LARGE` (the run prints those it leaves out).

Reference: the certified optimum (``=opt=``) or best proven bound (``=bestdual=``) of
``instances/coupled.solu`` / ``instances/paper.solu`` (written from the exact engine's benchmark
records, not re-solved here); the exact engine's best feasible objective there (``=best=``) is
the ``exact (reference)`` row (no decision time: it is offline). The table reads them from the
``.solu`` files when it is rendered (:func:`solu_row`), so a better bound or incumbent found
since a record was made shows at the next ``--render``. Only an instance with no
``.solu`` entry is solved here: the MILP decomposed by request (HiGHS, 1 thread, greedy start,
``--time-limit``). An instance proven infeasible (``=inf=``, or by that MILP) has no reference:
its summary reads ``none (infeasible)`` (``none (no bound)`` where the MILP stopped with none).

Methods (``--methods``, :data:`METHODS`):

* ``greedy``, ``per-layer``, ``edge-cloud``: the baselines (deterministic);
* ``plan-guided``: :mod:`optdist.heuristics.plan_guided` (the exact engine's plan for the
  expected load, exact repair; plan ``--plan-time-limit`` s, not a decision), with the
  instance's own class counts as the forecast; ``plan-rollout``: the same plan, and per
  request a rollout (candidates scored by completing the expected rest of the forecast,
  :func:`optdist.heuristics.plan_guided.solve_plan_rollout`); both polish the plan by joint
  and pair moves first (at most ``--polish-time-limit`` s more, default ``--plan-time-limit``: ``prep_s``
  counts the exact engine and the polish; ``plan_engine_ms``: the engine's plan, ``plan_ms``: after the polish, on the
  forecast; ``polish_joint_solves`` / ``_capped`` / ``_stalled``: its joint solves started / stopped by
  their cap / by the stall rule, empty in records made before they were kept; ``--plan-start DIR``: with the exact forecast, the engine's plan of an instance
  starts from ``DIR/<instance>.json`` where that file exists, e.g. a longer offline run's
  placement, ``plan_start`` in the record and the table; ``plan_start_s``: the offline seconds that
  found it, where its ``meta.offline_s`` says, e.g. ``benchmarks/scale/cifar20_mix/from_scratch.py``'s); ``... (forecast -25 %)`` /
  ``(+25 %)``: either with a forecast missing every 4th request / holding every 4th request
  twice (:func:`wrong_forecast`);
* ``rl (paper reward)``: the paper's agent: eq. 11 reward (sigma, beta), no action masking,
  plain DQN, preset by CNN (Tables 4-5); ``rl (masked)``: stage-time reward, action masking,
  double DQN, same preset. Both trained on the instance (``--episodes`` layer episodes, seed
  0, :func:`optdist.rl.train.train`), then placing its requests online
  (:func:`optdist.rl.policy.solve_rl`); curves to ``curves/<instance>-<variant>/``;
* ``rl (masked, pretrained)``: the masked DQN of Figs. 13-14 (``models/policies/mix-70``, trained once on
  another instance, the record's ``trained_on``), placing the sets of :data:`PRETRAINED_POLICIES` (the
  250-request loads, too large to train on here); no row for other sets (named in ``--methods``, the run
  says so); a policy that is missing, invalid or does not cover a set's CNNs is refused before anything runs;
* ``rl (MaskablePPO)``: the off-the-shelf sb3-contrib baseline on the registered environment
  (:func:`optdist.rl.ppo.train_maskable_ppo`, stage reward, ``--ppo-timesteps`` steps, seed 0),
  placing online through :func:`optdist.rl.ppo.solve_rl_ppo`.

Every latency, byte, rejection and violation comes from the independent evaluator; violations
are split into capacity (10b-d), privacy ((10f) and the (10h) pins) and placement
(intermediate layers on a source). Each (instance, method) is one record,
``records/<instance>--<method>.json``, written atomically when it finishes; a record present
is skipped (``--force`` re-runs it), so an interrupted run resumes. A record's ``note`` (text added
by hand, e.g. that the record is the best of several runs) is printed under the table's header.
SIGINT/SIGTERM during a solve
end the run (exit 130 / 143) with no record for the run they stopped and no render.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import textwrap
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]  # this checkout's optdist (run by path, the script's folder comes first, not the cwd)

import optdist  # noqa: E402
from optdist.bench.solu import read_solu  # noqa: E402
from optdist.instance import Instance, load_instance  # noqa: E402
from optdist.io import atomic_write_json, atomic_write_text, restore_non_finite  # noqa: E402
from optdist.result import SolveResult, Termination  # noqa: E402

from _common import machine, reference, row  # noqa: E402

RECORDS = HERE / "records"
SOLU = [ROOT / "instances" / "coupled.solu", ROOT / "instances" / "paper.solu"]
COUPLED_SETS = ["lenet-8x4-rpi3", "lenet-9x5-nexus-rpi3", "cifar-6x5-nexus-rpi3", "mixed-8x6-nexus-rpi3",
                "lenet-20x10-rpi3", "lenet-20x20-nexus-rpi3", "cifar-12x10-rpi3", "cifar-20x20-nexus-rpi3"]
PAPER_SETS = ["lenet-10x10-tight-tau0.6", "lenet-10x10-tight-tau0.8", "lenet-20x70-tight-tau0.6",
              "lenet-10x70-tight-tau0.6", "lenet-10x70-tight-tau0.8",
              "lenet-10x10-tau0.8", "lenet-10x10-tau0.6", "lenet-10x70-tau0.8", "lenet-10x70-tau0.6",
              "lenet-1x10-tau0.6", "lenet-1x10-tau0.8", "lenet-3x10-tau0.6", "lenet-3x10-tau0.8",
              "hetero-250x70-tau0.6", "hetero-250x70-tau0.8"]
DEFAULT = ([ROOT / "instances" / "coupled" / f"{n}.json" for n in COUPLED_SETS]
           + [ROOT / "instances" / "paper" / f"{n}.json" for n in PAPER_SETS])
#: (train_freq 1, a gradient step per env step, as the committed rows were trained: the hetero and vgg presets'
#: own train_freq would train the mixed / VGG sets' agents otherwise)
RL_VARIANTS = {
    "rl (paper reward)": {"reward": "paper", "masked": False, "double": False, "train_freq": 1},
    "rl (masked)": {"reward": "stage", "masked": True, "double": True, "train_freq": 1},
}
#: the methods that follow a plan for a forecast (each the registered method of that name)
PLANNED = ["plan-guided", "plan-rollout"]
#: each of them with a forecast that is wrong: a quarter of the requests missing (every 4th), or
#: a quarter more (every 4th request twice): how much the method owes to an exact forecast;
#: label -> (method, sign)
FORECASTS = {f"{m} (forecast {'-' if sign < 0 else '+'}25 %)": (m, sign) for m in PLANNED for sign in (-1, +1)}
PPO = "rl (MaskablePPO)"
#: the masked DQN trained once, apart, on another instance (the policy of Figs. 13-14,
#: ``benchmarks/specs/paper-250-rl-vgg.toml``), placing the sets too large to train on here
PRETRAINED = "rl (masked, pretrained)"
#: instance name prefix -> the committed policy that row uses (instances matching none have no such row)
PRETRAINED_POLICIES = {"hetero-250x70-": ROOT / "models" / "policies" / "mix-70"}
METHODS = ["greedy", "per-layer", "edge-cloud", *PLANNED, *FORECASTS, *RL_VARIANTS, PRETRAINED, PPO]
#: sets of more requests than this are "large": without ``--methods`` they skip :data:`NOT_ON_LARGE`
LARGE = 20
#: too slow for a large set on 2 cores: a rollout of the forecast's rest per request, training on
#: the set itself (episodes of VGG layers), the wrong forecasts (two more plans each)
NOT_ON_LARGE = ["plan-rollout", *FORECASTS, *RL_VARIANTS, PPO]
EXACT = "exact (reference)"
#: an instance name that can name its files (``records/<name>--<method>.json``, ``curves/<name>-<variant>/``)
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def instance_path(name: str) -> Path:
    """A path, or the name of a set of ``instances/coupled``, ``instances/paper`` or ``instances/`` here.

    Raises ValueError naming ``--instances`` and the fix for an unknown name."""
    p = Path(name)
    if p.suffix == ".json":
        return p
    for d in (ROOT / "instances" / "coupled", ROOT / "instances" / "paper", HERE / "instances"):
        if (d / f"{name}.json").exists():
            return d / f"{name}.json"
    raise ValueError(f"--instances: no instance {name!r} in instances/coupled, instances/paper or "
                     f"benchmarks/online/instances (fix: give a name listed there or a .json path)")


def record_path(instance: str, method: str) -> Path:
    return RECORDS / f"{instance}--{re.sub(r'[^a-z0-9-]+', '-', method.lower()).strip('-')}.json"


class Interrupted(Exception):
    """SIGINT/SIGTERM stopped a solve (the library turns them into an ``interrupted`` result):
    its record is not written and the run ends (``args[0]``: the signal's name)."""


def _not_interrupted(res: SolveResult) -> SolveResult:
    """``res``, unless a signal stopped it (:class:`Interrupted`)."""
    if res.termination == "interrupted":
        raise Interrupted(res.extra.get("interrupted") or "SIGINT")
    return res


def plan_start_file(inst: Instance, plan_start: Path | None) -> Path | None:
    """``plan_start/<instance>.json`` if that file exists (the plan's start), else None."""
    if plan_start is None:
        return None
    path = plan_start / f"{inst.name}.json"
    return path if path.is_file() else None


def plan_start_seconds(path: Path) -> float | None:
    """The offline seconds that found the placement at ``path``: its meta's ``offline_s`` (written by
    ``benchmarks/scale/cifar20_mix/from_scratch.py``), None where the file does not say (older
    placements; a file that is not JSON is :func:`check_plan_starts`'s to refuse)."""
    try:
        meta = json.loads(path.read_text()).get("meta")
    except (OSError, ValueError, AttributeError):
        return None
    v = meta.get("offline_s") if isinstance(meta, dict) else None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def check_plan_starts(insts: list[Instance], plan_start: Path) -> None:
    """Read every ``plan_start/<instance>.json`` of ``insts`` as a placement of its instance before
    anything runs; ValueError naming the file and the fix, or naming the folder when it holds no
    start for any of ``insts``."""
    from optdist.commands.core import load_placement

    files = {inst.name: (inst, plan_start_file(inst, plan_start)) for inst in insts}
    if all(f is None for _, f in files.values()):
        raise ValueError(f"no <instance>.json for any of {sorted(files)} (fix: give the folder that holds "
                         "them, e.g. benchmarks/scale/coupled/best, or leave --plan-start out)")
    for inst, f in files.values():
        if f is not None:
            try:
                load_placement(inst, f)
            except (OSError, ValueError) as e:
                raise ValueError(f"{f}: {e} (fix: write a placement of {inst.name} there, e.g. the --out of "
                                 f"`optdist solve` on it, or remove the file)") from None


#: what a plan method's ``extra`` says about its decisions and its plan's polish, kept in its record; the joint solves
#: started, stopped by their cap and stopped by the stall rule (``optdist.heuristics.plan_guided._plan``)
POLISH_EXTRA = ("followed", "repaired", "improved", "chosen", "polish_moves", "polish_joint_moves", "polish_joint_solves",
                "polish_joint_capped", "polish_joint_stalled", "polish_s")


def pretrained_policy(name: str) -> Path | None:
    """The committed policy of :data:`PRETRAINED_POLICIES` for instance ``name`` (None: none)."""
    return next((d for prefix, d in PRETRAINED_POLICIES.items() if name.startswith(prefix)), None)


def chosen_methods(inst: Instance, methods: list[str] | None) -> list[str]:
    """The methods run on ``inst``: ``methods``, or (None) :data:`METHODS` less :data:`NOT_ON_LARGE`
    on a set of more than :data:`LARGE` requests and less :data:`PRETRAINED` on a set with no policy for it."""
    return methods or [m for m in METHODS if (inst.n_requests <= LARGE or m not in NOT_ON_LARGE)
                       and (m != PRETRAINED or pretrained_policy(inst.name) is not None)]


def check_pretrained(insts: list[Instance], methods: list[str] | None, force: bool) -> None:
    """Read the committed policy of every set whose :data:`PRETRAINED` record is to be made and check
    that it covers the set's CNNs, before anything runs; ValueError naming the set, the policy and
    the fix for a missing or invalid policy, or one that does not fit the set."""
    from optdist.rl.policy import load_policy, policy_features

    for inst in insts:
        policy = pretrained_policy(inst.name)
        if (policy is None or PRETRAINED not in chosen_methods(inst, methods)
                or (record_path(inst.name, PRETRAINED).exists() and not force)):
            continue
        try:
            policy_features(inst, load_policy(policy))
        except (OSError, ValueError) as e:
            raise ValueError(f"{PRETRAINED} on {inst.name}: {e} (gap_table.py's PRETRAINED_POLICIES names this policy "
                             f"for the set; or leave {PRETRAINED!r} out of --methods)") from None


def solve_method(inst: Instance, method: str, episodes: int, plan_time_limit: float, ppo_timesteps: int,
                 plan_start: Path | None = None, polish_time_limit: float | None = None) -> dict:
    """One method on ``inst``: its row (reference columns filled in at render time); ``plan_start``:
    the folder of plan starts (:func:`plan_start_file`, the exact forecast's plans only);
    ``polish_time_limit``: s of the plan's polish (None: ``plan_time_limit``)."""
    extra: dict = {}
    if method == PPO:
        res = _not_interrupted(optdist.solve(inst, method="rl-ppo", timesteps=ppo_timesteps, seed=0))
        extra = {"train_s": res.extra["train_s"], "timesteps": ppo_timesteps}
    elif method == PRETRAINED:
        policy = pretrained_policy(inst.name)
        res = _not_interrupted(optdist.solve(inst, method="rl", policy=policy))
        cfg = json.loads((policy / "policy.json").read_text())
        extra = {"train_s": cfg.get("train_s"), "episodes": cfg["episodes"],
                 "policy": str(policy.relative_to(ROOT) if policy.is_relative_to(ROOT) else policy),
                 "trained_on": cfg["instance"]}
    elif method in RL_VARIANTS:
        from optdist.result import finalize
        from optdist.rl.policy import Policy, solve_rl
        from optdist.rl.presets import preset_for
        from optdist.rl.train import train, write_curves

        opts = RL_VARIANTS[method]
        preset = preset_for(inst)
        tr = train(inst, preset, episodes=episodes, seed=0, progress=False, **opts)
        slug = f"{inst.name}-{'paper' if opts['reward'] == 'paper' else 'masked'}"
        write_curves(tr.curves, HERE / "curves" / slug, f"{inst.name}: {method}, preset {preset.name}, {episodes} episodes")
        res = _not_interrupted(finalize(inst, solve_rl(inst, policy=Policy.from_agent(tr.agent.q, tr.config))))
        extra = {"train_s": tr.train_s, "episodes": episodes}
    elif method in PLANNED or method in FORECASTS:
        name, sign = (method, 0) if method in PLANNED else FORECASTS[method]
        start = plan_start_file(inst, plan_start) if sign == 0 else None
        res = _not_interrupted(optdist.solve(inst, method=name, plan_time_limit=plan_time_limit,
                                             polish_time_limit=polish_time_limit,
                                             forecast=None if sign == 0 else wrong_forecast(inst, sign),
                                             **({} if start is None else {"plan_start": start})))
        plan, engine = res.extra["plan_objective"], res.extra.get("plan_engine_objective")
        extra = {"prep_s": res.extra["plan_s"], "plan_found_by": res.extra["plan_found_by"],
                 "plan_start": None if start is None else str(start.resolve().relative_to(ROOT)
                                                              if start.resolve().is_relative_to(ROOT) else start),
                 "plan_start_s": None if start is None else plan_start_seconds(start),
                 "plan_ms": None if plan is None else 1e3 * plan,
                 "plan_time_limit_s": plan_time_limit,
                 "polish_time_limit_s": res.extra["polish_time_limit_s"],  # the cap the solve used
                 "plan_engine_ms": None if engine is None else 1e3 * engine,
                 **{k: res.extra[k] for k in POLISH_EXTRA if k in res.extra}}
    else:
        res = _not_interrupted(optdist.solve(inst, method=method))
    return {**row(inst, method, res, None), "n_requests": inst.n_requests, "decision_ms_max": res.extra.get("decision_ms_max"), **extra}


def wrong_forecast(inst: Instance, sign: int) -> Instance:
    """``inst`` with every 4th request left out (``sign`` -1) or repeated (+1, new ids)."""
    reqs = inst.spec.requests
    if sign < 0:
        return inst.with_spec(name=f"{inst.name}-forecast-25", requests=[q for i, q in enumerate(reqs) if i % 4 != 3])
    more = [q.model_copy(update={"id": f"{q.id}-forecast"}) for i, q in enumerate(reqs) if i % 4 == 3]
    return inst.with_spec(name=f"{inst.name}-forecast+25", requests=[*reqs, *more])


def solu_row(name: str, n_requests: int | None) -> dict | None:
    """The reference facts of instance ``name`` as the ``.solu`` files hold them now (None: no
    entry): read when a record is made and again when the table is rendered, so a table never
    shows a reference or exact-engine value older than the ``.solu`` files."""
    for solu in SOLU:
        ref = read_solu(solu).get(name)
        if ref is not None:
            value, kind = ref.value()
            return {"instance": name, "method": EXACT, "n_requests": n_requests, "reference_ms": None if value is None else 1e3 * value,
                    "reference_kind": "infeasible" if ref.infeasible and value is None else kind, "latency_ms": None if ref.best is None and ref.opt is None
                    else 1e3 * (ref.opt if ref.opt is not None else ref.best),
                    "rejected": 0 if (ref.best is not None or ref.opt is not None) else None,
                    "feasible": ref.best is not None or ref.opt is not None, "source": solu.name}
    return None


def exact_row(inst: Instance, time_limit: float) -> dict:
    """The reference facts of ``inst``: from the ``.solu`` files, else solved here (the MILP).

    No reference (``reference_ms`` None) where the MILP proves ``inst`` infeasible
    (``reference_kind`` "infeasible") or stops with no bound (kind None)."""
    known = solu_row(inst.name, inst.n_requests)
    if known is not None:
        return known
    milp = _not_interrupted(reference(inst, time_limit))
    ev = milp.evaluation
    best = ev.total_latency if ev is not None and ev.feasible else None
    proven = best is not None and milp.bound is not None and best <= milp.bound * (1 + 1e-6)
    if proven:
        ref, kind = best, "opt"
    elif milp.termination == Termination.INFEASIBLE:
        ref, kind = None, "infeasible"
    else:
        ref, kind = milp.bound, None if milp.bound is None else "bound"
    return {"instance": inst.name, "method": EXACT, "n_requests": inst.n_requests,
            "reference_ms": None if ref is None else 1e3 * ref,
            "reference_kind": kind, "latency_ms": None if best is None else 1e3 * best,
            "rejected": 0 if best is not None else None, "feasible": best is not None,
            "source": f"milp decomposed, {time_limit:g} s ({milp.termination})"}


def load_all(paths: list[Path]) -> list[Instance]:
    """Every instance, read before anything runs.

    Raises ValueError naming ``--instances``, the file and the fix for a missing or invalid file, or
    an instance whose ``name`` cannot name its record files (:data:`FILE_NAME`: e.g. a ``/``)."""
    from optdist.jsonfile import json_text

    insts = []
    for path in paths:
        try:
            insts.append(load_instance(path))
        except (OSError, ValueError) as e:  # FileNotFoundError, InstanceError (file, field and fix)
            raise ValueError(f"--instances: {e}") from None
        if not FILE_NAME.fullmatch(insts[-1].name):
            raise ValueError(f"--instances: {path}: \"name\" {json_text(insts[-1].name)} cannot name its records "
                             "(records/<name>--<method>.json) (fix: a name of letters, digits, '.', '_', '+' and '-', "
                             "starting with a letter or digit)")
    return insts


def run(insts: list[Instance], methods: list[str] | None, *, episodes: int, plan_time_limit: float, time_limit: float,
        force: bool, ppo_timesteps: int = 20_000, plan_start: Path | None = None,
        polish_time_limit: float | None = None) -> None:
    """Every (instance, method) record that is missing (or all, with ``force``); ``methods`` None:
    :data:`METHODS`, less :data:`NOT_ON_LARGE` on sets of more than :data:`LARGE` requests and
    less :data:`PRETRAINED` on sets with no policy for it (named in ``methods``: said, no record)."""
    RECORDS.mkdir(exist_ok=True)
    for inst in insts:
        if methods is None and inst.n_requests > LARGE:
            print(f"{inst.name}: {inst.n_requests} requests (more than {LARGE}): not running {', '.join(NOT_ON_LARGE)} "
                  "(name them in --methods to run them)", flush=True)
        for method in [EXACT, *chosen_methods(inst, methods)]:
            out = record_path(inst.name, method)
            if out.exists() and not force:
                continue
            if method == PRETRAINED and pretrained_policy(inst.name) is None:  # named in --methods: say why no row
                print(f"{inst.name}: {PRETRAINED} not run: no committed policy for this set (PRETRAINED_POLICIES "
                      f"has one for the sets named {', '.join(f'{p}*' for p in PRETRAINED_POLICIES)})", flush=True)
                continue
            print(f"{inst.name}: {method}", flush=True)
            rec = exact_row(inst, time_limit) if method == EXACT else solve_method(
                inst, method, episodes, plan_time_limit, ppo_timesteps, plan_start, polish_time_limit)
            atomic_write_json(out, {**rec, "machine": machine()}, non_finite=True)


def read_record(path: Path) -> dict:
    """One record of ``records/``; ValueError naming the file and the fix where it is not valid JSON
    or not an object with ``instance`` and ``method``."""
    remake = "delete it and rerun gap_table.py to remake it"
    try:
        rec = restore_non_finite(json.loads(path.read_text()), str(path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: line {e.lineno} column {e.colno}: invalid JSON: {e.msg} (fix: correct the file, "
                         f"e.g. a note added by hand, or {remake})") from None
    if not isinstance(rec, dict) or not {"instance", "method"} <= rec.keys():
        raise ValueError(f"{path}: not a gap-table record (an object with \"instance\" and \"method\") (fix: {remake})")
    return rec


def table() -> pd.DataFrame:
    """Rows of every record, with gap = (latency - reference) / reference for feasible placements;
    the reference and exact-engine values are read from the ``.solu`` files now (:func:`solu_row`),
    not taken from the records (made with the ``.solu`` of their day).

    Raises ValueError naming the file and the fix for an invalid record, or an instance with no
    ``exact (reference)`` record."""
    recs = [read_record(p) for p in sorted(RECORDS.glob("*.json"))]
    if not recs:
        raise ValueError(f"no records in {RECORDS} to draw (fix: run gap_table.py without --render first)")
    missing = sorted({r["instance"] for r in recs} - {r["instance"] for r in recs if r["method"] == EXACT})
    if missing:
        raise ValueError(f"no {record_path(missing[0], EXACT)} (the reference of {missing[0]}'s records) (fix: "
                         f"rerun gap_table.py --instances {missing[0]} ..., which remakes it)")
    for i, rec in enumerate(recs):  # the reference rows as the .solu files hold them now
        if rec["method"] == EXACT:
            now = solu_row(rec["instance"], rec.get("n_requests"))
            recs[i] = rec if now is None else {**now, "machine": rec.get("machine")}
    df = pd.DataFrame(recs)
    ref = df[df["method"] == EXACT].set_index("instance")
    df["reference_ms"] = df["instance"].map(ref["reference_ms"])
    df["reference_kind"] = df["instance"].map(ref["reference_kind"])
    feas = df["feasible"].fillna(False).astype(bool)
    df["gap_%"] = (100 * (df["latency_ms"] - df["reference_ms"]) / df["reference_ms"]).where(feas)
    exact = df["instance"].map(ref["latency_ms"])
    df["vs_exact_%"] = (100 * (df["latency_ms"] - exact) / exact).where(feas)
    order = {m: i for i, m in enumerate([EXACT, *METHODS])}
    inst_order = {p.stem: i for i, p in enumerate(DEFAULT)}
    df["_i"] = df["instance"].map(lambda n: inst_order.get(n, len(inst_order)))
    df["_m"] = df["method"].map(lambda m: order.get(m, len(order)))
    return df.sort_values(["_i", "instance", "_m"]).drop(columns=["_i", "_m"]).reset_index(drop=True)


def cell(r: pd.Series) -> str:
    """One summary cell: gap if feasible, else what broke (never a latency that hides rejections)."""
    if pd.isna(r.get("latency_ms")):
        return "no placement"
    bits = []
    if r.get("rejected"):
        bits.append(f"rejects {int(r['rejected'])}")
    for col, what in (("capacity_viol", "capacity"), ("privacy_viol", "privacy"), ("placement_viol", "placement")):
        if r.get(col):
            bits.append(f"{int(r[col])} {what} viol.")
    if bits:
        return ", ".join(bits)
    if pd.isna(r.get("gap_%")):
        return "-"
    vs = f" ({r['vs_exact_%']:+.1f} % vs exact)" if pd.notna(r.get("vs_exact_%")) else ""
    return f"{r['gap_%']:+.1f} %{vs}" + "".join(f"; {c}" for c in caveats(r, cost=True))


def left_out() -> str:
    """The instances of ``instances/coupled`` and ``instances/paper`` that the table leaves out, each
    with why: proved infeasible with every request admitted (``=inf=``), or no entry in the ``.solu``."""
    shown = {p.stem for p in DEFAULT}
    why = []
    for folder in ("coupled", "paper"):
        for path in sorted((ROOT / "instances" / folder).glob("*.json")):
            if path.stem not in shown:
                row = solu_row(path.stem, None)
                reason = ("proved infeasible with every request admitted, no latency" if row and row["reference_kind"] ==
                          "infeasible" else "no reference in the .solu" if row is None else "no reference latency")
                why.append(f"{path.stem} ({reason})")
    return "; ".join(why) or "none"


def longer_polish(r: pd.Series) -> bool:
    """The record's plan was polished for longer than its engine ran (``--polish-time-limit``)."""
    engine, polish = r.get("plan_time_limit_s"), r.get("polish_time_limit_s")
    return bool(pd.notna(engine) and pd.notna(polish) and polish > engine)


def render() -> None:
    """gap_table.csv, gap_table.md and gap_table.png from the records."""
    from optdist.bench.figures import gap_grid

    df = table()
    notes = ("; ".join(f"{r['instance']} {r['method']}: {r['note']}" for _, r in df[df["note"].notna()].iterrows())
             if "note" in df.columns else "")
    cols = ["instance", "method", "n_requests", "latency_ms", "reference_ms", "reference_kind", "gap_%", "vs_exact_%", "rejected", "capacity_viol",
            "privacy_viol", "placement_viol", "feasible", "decision_ms_per_request", "decision_ms_max", "train_s",
            "episodes", "timesteps", "trained_on", "policy", "prep_s", "plan_time_limit_s", "polish_time_limit_s", "plan_engine_ms", "plan_ms", "polish_moves", "polish_joint_solves", "polish_joint_capped",
            "polish_joint_stalled", "plan_start", "plan_start_s", "shared_kB"]
    df = df[[c for c in cols if c in df.columns]]  # records older than a column leave it out, or empty in their rows
    atomic_write_text(HERE / "gap_table.csv", df.to_csv(index=False))
    names = list(dict.fromkeys(df["instance"]))
    summary = pd.DataFrame(index=names, columns=["reference (ms)", *METHODS], dtype=object).fillna("not run")
    for name in names:
        ex = df[(df["instance"] == name) & (df["method"] == EXACT)].iloc[0]
        best = "-" if pd.isna(ex["latency_ms"]) else f"{ex['latency_ms']:.4g}"
        ref = (f"{ex['reference_ms']:.4g} ({ex['reference_kind']})" if pd.notna(ex["reference_ms"])
               else f"none ({ex['reference_kind'] if pd.notna(ex['reference_kind']) else 'no bound'})")
        summary.loc[name, "reference (ms)"] = f"{ref}; exact engine {best}"
    for _, r in df[df["method"] != EXACT].iterrows():
        summary.loc[r["instance"], r["method"]] = cell(r)
    shown = df.astype(object).where(df.notna(), None)
    started = df[df["plan_start"].notna()] if "plan_start" in df.columns else df.iloc[:0]
    starts = "; ".join(f"{r['instance']} {r['method']} from `{r['plan_start']}`" + start_cost(r)
                       for _, r in started.iterrows())
    longer = df[df.apply(longer_polish, axis=1)]
    polished = "; ".join(f"{r['instance']} {r['method']} ({r['plan_time_limit_s']:g} s engine, "
                         f"{r['polish_time_limit_s']:g} s polish)" for _, r in longer.iterrows())
    machines = sorted({read_record(p).get("machine", "") for p in RECORDS.glob("*.json")})
    md = [
        "# Online placement vs the certified optimum",
        "",
        "Command: `python benchmarks/online/gap_table.py` (records in `records/`, one per instance and method; "
        "`--render` rewrites this file, `gap_table.csv` and `gap_table.png`).  ",
        f"Machines: {'; '.join(m for m in machines if m)}  ",
        "Reference: the certified optimum (opt) or best proven bound (bound) of `instances/coupled.solu` / "
        "`instances/paper.solu` as they are when this table is rendered; `exact engine` is the best feasible objective "
        "there (offline: the best of the exact engine's benchmark runs for the coupled sets, or of their polish by joint "
        "moves, `benchmarks/scale/polish_placement.py`; cifar-20x20-nexus-rpi3's, the column mix of "
        "`benchmarks/scale/cifar20_mix/from_scratch.py`, 680 s from the instance alone).",
        f"Not in the table (no reference to measure a gap against): {left_out()}.",
        "Every latency, byte, rejection and violation is from the independent evaluator (`optdist.evaluate`).",
        "gap = (latency - reference) / reference, for feasible placements only: a placement that rejects requests "
        "(its latency then counts only the admitted ones) or breaks a constraint gets none. \"not run\": no record.",
        "decision_ms_per_request: the online decisions' wall ms per request, mean over the requests (decision_ms_max: "
        "the slowest). Not in it (start-up work, before the first arrival): training, loading the policy, a plan's "
        "prep_s, and the RL methods' warm-up, which decides each CNN's first request on a scratch copy of the empty "
        "usage (`optdist.rl.decide.warm_up`): its decisions are that request's guess, exact where it meets the empty "
        "usage (the first arrival does), so that request then costs a few batched rounds; `decisions.md` reports the "
        "warm-up (`warmup_ms`) and the mean with it charged to the requests.",
        *([f"Plans started from a placement (`--plan-start`; the offline time that found that placement, e.g. one of "
           f"the exact engine's long runs behind `benchmarks/scale/coupled/best/` (`benchmarks/scale/README.md` says "
           f"which), is not in `prep_s` (where the start's file says it, `plan_start_s` and \"found in N s offline\"): "
           f"these rows are not comparable with plans made in `--plan-time-limit` s): "
           f"{starts}."] if starts else []),
        *([f"Plans polished for longer than the engine ran (`--polish-time-limit`; `prep_s` counts the engine and "
           f"the polish, offline work before the first request): {polished}."] if polished else []),
        *([f"Notes on single records: {notes}."] if notes else []),
        "",
        "## Summary (gap to the reference and to the exact engine's placement, or what broke)",
        "",
        summary.rename_axis("instance").to_markdown(),
        "",
        "## All measurements",
        "",
        shown.to_markdown(index=False, floatfmt=".4g", missingval="-"),
        "",
    ]
    atomic_write_text(HERE / "gap_table.md", "\n".join(md))
    rows = df[df["method"] != EXACT].copy()
    if rows.empty:  # only the references: no method to draw (a figure of an earlier run would be stale)
        (HERE / "gap_table.png").unlink(missing_ok=True)
        print("no method's record yet: gap_table.png not drawn", file=sys.stderr)
        return
    rows["caveat"] = rows.apply(lambda r: "\n".join(textwrap.fill(c, 20) for c in caveats(r)), axis=1)
    gap_grid(rows, HERE / "gap_table.png", methods=METHODS, groups={name: block(name) for name in names})


def caveats(r: pd.Series, cost: bool = False) -> list[str]:
    """What a row's md cell and figure cell say after its gap where its plan had more offline help
    than the others': a given start placement (``cost``: with its offline seconds where known, the
    md's cell; the figure's cell has no room), a longer polish."""
    return (([f"plan started from a given placement{start_cost(r) if cost else ''}"] if pd.notna(r.get("plan_start"))
             else [])
            + ([f"polish {r['polish_time_limit_s']:g} s"] if longer_polish(r) else []))


def start_cost(r: pd.Series) -> str:
    """`` (found in N s offline)`` where the record says what its plan start cost (``plan_start_s``),
    else empty (records made before the field, or starts whose file does not say)."""
    v = r.get("plan_start_s")
    return f" (found in {v:.0f} s offline)" if v is not None and pd.notna(v) else ""


def block(name: str) -> str:
    """The block of ``gap_table.png`` that instance ``name`` is drawn in."""
    if name in COUPLED_SETS:
        return "Coupled sets (instances/coupled): requests compete for capacity"
    if name not in PAPER_SETS:
        return "Other sets"
    if name.startswith("hetero-"):
        return "The paper's heterogeneous 250-request loads"
    if "-tight-" in name:
        return "The paper's LeNet sets, tight (3 ms period): on 10 devices requests compete for radio bandwidth"
    return "The paper's LeNet sets (1 s period): requests do not compete"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", nargs="+", help="names (e.g. lenet-8x4-rpi3) or paths; default: every set in DEFAULT")
    ap.add_argument("--methods", nargs="+", choices=METHODS, help="default: all")
    ap.add_argument("--episodes", type=int, default=3000, help="training episodes per RL variant (default 3000)")
    ap.add_argument("--ppo-timesteps", type=int, default=20_000, help="MaskablePPO training steps (default 20000)")
    ap.add_argument("--plan-time-limit", type=float, default=60.0, help="plan-guided: exact engine seconds (default 60)")
    ap.add_argument("--polish-time-limit", type=float,
                    help="plan-guided: seconds of joint and pair moves on the engine's plan (default: --plan-time-limit)")
    ap.add_argument("--plan-start", type=Path, metavar="DIR",
                    help="plan-guided/plan-rollout, exact forecast: start the plan of an instance from "
                         "DIR/<instance>.json where it exists (e.g. benchmarks/scale/coupled/best)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="MILP seconds for an instance without a .solu entry")
    ap.add_argument("--force", action="store_true", help="re-run records that exist")
    ap.add_argument("--render", action="store_true", help="only rewrite gap_table.{csv,md,png} from the records")
    args = ap.parse_args(argv)
    for flag, value in (("--episodes", args.episodes), ("--plan-time-limit", args.plan_time_limit),
                        ("--polish-time-limit", args.polish_time_limit),
                        ("--time-limit", args.time_limit), ("--ppo-timesteps", args.ppo_timesteps)):
        if value is not None and not 0 < value < math.inf:
            ap.error(f"{flag} {value}: give a number > 0")
    if args.render and (args.instances or args.methods or args.force or args.plan_start
                        or args.polish_time_limit is not None):
        ap.error("--render only redraws the table from the records: leave out --instances, --methods, --force, "
                 "--plan-start and --polish-time-limit")
    if (args.polish_time_limit is not None and args.methods
            and not any(m in PLANNED or m in FORECASTS for m in args.methods)):
        ap.error(f"--polish-time-limit {args.polish_time_limit:g}: only plan-guided and plan-rollout polish a plan, "
                 "and --methods has neither (fix: add one of them to --methods, or leave --polish-time-limit out)")
    if args.plan_start is not None and not args.plan_start.is_dir():
        ap.error(f"--plan-start {args.plan_start}: not a folder (fix: give a folder of <instance>.json placements, "
                 "e.g. benchmarks/scale/coupled/best)")
    if args.render and not any(RECORDS.glob("*.json")):
        ap.error(f"--render: no records in {RECORDS} to draw (fix: run gap_table.py without --render first)")
    if not args.render:
        try:  # a bad name or file: exit 2 (bad input), as argparse's own refusals
            insts = load_all([instance_path(n) for n in args.instances] if args.instances else DEFAULT)
        except ValueError as e:
            ap.error(str(e))
        if args.plan_start is not None:
            try:
                check_plan_starts(insts, args.plan_start)
            except ValueError as e:
                ap.error(f"--plan-start {args.plan_start}: {e}")
        try:
            check_pretrained(insts, args.methods, args.force)
        except ValueError as e:
            ap.error(str(e))
        try:
            run(insts, args.methods, episodes=args.episodes, plan_time_limit=args.plan_time_limit,
                time_limit=args.time_limit, force=args.force, ppo_timesteps=args.ppo_timesteps,
                plan_start=args.plan_start, polish_time_limit=args.polish_time_limit)
        except Interrupted as e:  # the records written so far stay; a rerun resumes from them
            print(f"gap_table.py: interrupted by {e.args[0]}: no record written for the run it stopped, "
                  "the table not rendered (rerun the command to resume)", file=sys.stderr)
            return 143 if e.args[0] == "SIGTERM" else 130
    try:
        render()
    except ValueError as e:  # an invalid record (e.g. edited by hand)
        ap.error(f"render: {e}")
    png = ", gap_table.png" if (HERE / "gap_table.png").exists() else ""
    print(f"wrote {HERE / 'gap_table.md'}, gap_table.csv{png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
