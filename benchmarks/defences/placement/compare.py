"""Distribution only vs DP only vs hybrid, chosen inside the optimizer (issue 6, item 3).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/defences/placement/compare.py

Instances (written to ``instances/`` here, except the two bundled paper files):

* LeNet, 10 requests on 10 RPi3 (the paper's exact-optimum set): ``instances/paper/lenet-10x10-tau0.8``
  and ``-tau0.6``, plus ``lenet-10x10-tau0.4`` generated with the same seed and settings;
* CIFAR at small scale: 10 requests on 10 RPi3, tau 0.8 / 0.6 / 0.4 (``cifar-10x10-tau*``);
* DefQ: ``lenet-10x10-tau0.6-cpu143k`` (every device's compute capacity set to 143,500
  multiplications per period, so the full-path load of 2.149 M does not fit the 1.435 M of the
  devices) and ``lenet-10x10-tau0.6``. A ``quantization`` entry declares that the CNN is served
  with early exits; here it declares a LeNet deployment whose exit shares are written out as the
  measured ones of the multi-exit MNIST CNN (``MNIST_EXITS``, benchmarks/defences/defq_eval): an
  assumption about the deployment, not a property of the zoo LeNet profile, which has no exits.
  Rows: no entry (final classifier only), an entry leaving the shares to the defaults (refused),
  and attack shares 0 / 0.5 / 1 with the shares set (DefQ chosen by the optimizer).

Each instance gets one ``optdist.solve(inst, method="defended", mode="auto")`` run at the loosest
accuracy bound listed for its CNN; that run solves every admissible option once (decomposed MILP,
HiGHS). The row of a mode and a tighter bound is the best option of that mode within the bound,
picked by the method's own rule (:func:`optdist.defences.placement.pick`); the script checks that
the rule gives the method's choice at the run's bound. Writes ``results.md``, ``results.csv``,
``defq.csv`` and ``results.json`` (every option tried, every option rejected and why).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

import pandas as pd

from optdist.defences.placement import pick
from optdist.evaluate import evaluate
from optdist.generate import generate
from optdist.instance import DefenceSpec, Instance, InstanceError, QuantizationSpec, load_instance, parse
from optdist.io import atomic_write_json, atomic_write_text
from optdist.result import gap
from optdist.solve import solve

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
COMMAND = "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/defences/placement/compare.py"
LABEL = {"distribute": "distribution only", "dp": "DP only", "hybrid": "hybrid", "auto": "optimizer (auto)"}
BOUNDS = {"lenet": (2.0, 5.0, 15.0), "cifar": (2.0, 10.0)}
#: per-run solver options: LeNet solves take < 2 s; CIFAR ones are shared out of a 90 s budget
SOLVE = {"lenet": {"threads": 1}, "cifar": {"threads": 1, "time_limit": 90.0, "mip_gap": 1e-3}}
METHOD = "decomposed MILP (HiGHS)"


def instances() -> list[Instance]:
    """The comparison instances, generating (and writing) the ones not bundled."""
    out = [load_instance(ROOT / "instances" / "paper" / f"lenet-10x10-tau{tau}.json") for tau in (0.8, 0.6)]
    docs = [generate("lenet-10x10-tau0.4", {"lenet": 10}, {"rpi3": 10}, 0.4, sources=10, seed=10,
                     description="10 LeNet requests on 10 RPi3 devices (paper's exact-optimum setting) at tau 0.4")]
    docs += [generate(f"cifar-10x10-tau{tau}", {"cifar": 10}, {"rpi3": 10}, tau, sources=10, seed=10,
                      description="10 CIFAR requests on 10 RPi3 devices (small-scale CIFAR set)") for tau in (0.8, 0.6, 0.4)]
    for doc in docs:
        atomic_write_json(HERE / "instances" / f"{doc['name']}.json", doc)
        out.append(parse(doc, doc["name"], HERE / "instances" / f"{doc['name']}.json"))
    return out


def tight_defq_instance() -> Instance:
    doc = json.loads((ROOT / "instances" / "paper" / "lenet-10x10-tau0.6.json").read_text())
    doc["name"] = "lenet-10x10-tau0.6-cpu143k"
    doc["description"] = "lenet-10x10-tau0.6 with every device's compute capacity 143,500 multiplications per period"
    for d in doc["devices"]:
        d["compute_capacity"] = 143500
    path = HERE / "instances" / f"{doc['name']}.json"
    atomic_write_json(path, doc)
    return parse(doc, doc["name"], path)


def derive(tried: list[dict], cnn: str, mode: str, bound: float) -> dict:
    """Best option of ``mode`` within ``bound`` and its certificate (``gap`` of score vs least bound)."""
    cands = [t for t in tried if mode in ("auto", t["choice"][cnn]["mode"]) and t["accuracy_drop_pct"] <= bound + 1e-9]
    best = pick(cands)
    open_ = [t for t in cands if t["termination"] != "infeasible"]
    lb = min((t["bound"] + t["charges_s"] for t in open_), default=None) if all(t["bound"] is not None for t in open_) else None
    if not cands:
        status = "no admissible option"
    elif best is None:
        status = "infeasible" if not open_ else "no solution"
    else:
        status = best["termination"]
    c = best["choice"][cnn] if best else {}
    return {
        "defence": LABEL[mode],
        "options": len(cands),
        "cut": c.get("cut"),
        "eps": c.get("eps"),
        "mode chosen": c.get("mode"),
        "feasible": best is not None,
        "latency_s": best["total_latency_s"] if best else None,
        "shared_B": best["shared_bytes"] if best else None,
        "accuracy_cost_pct": best["accuracy_drop_pct"] if best else None,
        "attacker_ssim": c.get("attacker_ssim"),
        "dp_source": c.get("dp_source"),
        "status": status,
        "gap": gap(best["score"], lb) if best else None,
    }


def run_defended(inst: Instance, cnn: str, spec: DefenceSpec, opts: dict, save: str | None = None) -> tuple[dict, float]:
    """One ``--method defended`` run; ``save``: write the solved document as ``instances/<name><save>.json``
    (its defence entry as given: a quantization entry keeps its exit shares even where they equal the defaults)."""
    d = inst.with_spec(defence={cnn: spec})
    if save is not None:
        doc = {"format": d.spec.format, **d.spec.model_dump(mode="json", exclude_defaults=True)}
        doc["defence"] = {c: e.model_dump(mode="json", exclude_unset=True) for c, e in d.spec.defence.items()}
        atomic_write_json(HERE / "instances" / f"{inst.name}{save}.json", doc)
    t0 = time.perf_counter()
    res = solve(d, method="defended", **opts)
    wall = time.perf_counter() - t0
    if res.evaluation is not None:
        assert res.evaluation.feasible and "warning" not in res.extra, (d.name, res.extra.get("warning"))
    out = {"termination": str(res.termination), "objective": res.objective, "bound": res.bound,
           "defence": res.extra["defence"], "options_tried": res.extra["options_tried"],
           "options_rejected": res.extra["options_rejected"], "wall_time_s": wall}
    if spec.quantization is not None and res.assignment is not None:
        # the chosen placement re-scored on the instance without the entry (every request runs every
        # layer): the busiest node's multiplications per period over its capacity, in %
        plain = evaluate(inst, res.assignment)
        out["no_exits_max_compute_pct"] = float(100 * (plain.compute_used / inst.compute_capacity).max())
    return out, wall


def compare(insts: list[Instance]) -> tuple[pd.DataFrame, dict]:
    rows, runs = [], {}
    for inst in insts:
        cnn = inst.request_cnn[0]
        bounds = BOUNDS[cnn]
        spec = DefenceSpec(mode="auto", max_accuracy_drop_pct=max(bounds))
        run, wall = run_defended(inst, cnn, spec, SOLVE[cnn], save="-defended")
        runs[inst.name] = run
        picked = derive(run["options_tried"], cnn, "auto", max(bounds))
        chosen = run["defence"].get(cnn, {})
        assert (picked["mode chosen"], picked["cut"], picked["eps"]) == (chosen.get("mode"), chosen.get("cut"), chosen.get("eps"))
        print(f"{inst.name}: {len(run['options_tried'])} options, {wall:.1f} s, chose {chosen.get('mode')} {chosen.get('cut') or ''}", flush=True)
        for bound in bounds:
            for mode in ("distribute", "dp", "hybrid", "auto"):
                rows.append({"instance": inst.name, "cnn": cnn, "tau": inst.spec.tau, "bound_pct": bound,
                             **derive(run["options_tried"], cnn, mode, bound), "method": METHOD,
                             "run_wall_s": round(wall, 1)})
    return pd.DataFrame(rows), runs


#: the exit shares of the multi-exit MNIST CNN (benchmarks/defences/defq_eval, exits 1-2, RAD 5 %,
#: DeepSloth L-inf 0.1, DefQ[20,60]), written out: the LeNet deployment of the DefQ rows is declared
#: to have early exits that behave like them
MNIST_EXITS = {"exit_work_share": 0.3228, "late_share_clean": 0.18, "late_share_attacked": 0.517,
               "late_share_defended": 0.502}


def defq_table(tight: Instance, slack: Instance) -> tuple[pd.DataFrame, dict]:
    """DefQ chosen by the optimizer (distribution only) at attack shares 0 / 0.5 / 1, for a LeNet
    deployment declared to have the multi-exit MNIST CNN's early exits; the baseline without an
    entry; and the refusal of an entry that leaves the shares to the defaults."""
    rows, runs = [], {}
    for inst in (slack, tight):
        try:
            inst.with_spec(defence={"lenet": DefenceSpec(mode="distribute", quantization=QuantizationSpec(attack_share=1.0))})
            refused = "accepted"
        except InstanceError as e:
            refused = f"{e.problems[0].path}: refused"
        rows.append({"instance": inst.name, "case": "quantization, shares left to the defaults", "entry": refused})
        cases = [("no quantization entry (final classifier only)", DefenceSpec(mode="distribute"), "")]
        cases += [(f"alpha {a:g}, MNIST multi-exit shares",
                   DefenceSpec(mode="distribute", quantization=QuantizationSpec(attack_share=a, **MNIST_EXITS)),
                   f"-defq-alpha{a:g}") for a in (0.0, 0.5, 1.0)]
        for label, spec, tag in cases:
            save = tag if (inst is tight and tag == "-defq-alpha1") else None
            run, wall = run_defended(inst, "lenet", spec, {"threads": 1}, save=save)
            runs[f"{inst.name} {label}"] = run
            by = {t["choice"]["lenet"]["defq"]: t for t in run["options_tried"]}
            best = pick(run["options_tried"])
            c = best["choice"]["lenet"] if best else {}
            rows.append({
                "instance": inst.name, "case": label, "entry": "accepted",
                "w DefQ off": by[False]["choice"]["lenet"]["load_factor"] if False in by else 1.0,
                "w DefQ on": by[True]["choice"]["lenet"]["load_factor"] if True in by else None,
                "feasible off": (by[False] if False in by else by[None])["feasible"] is True,
                "feasible on": by[True]["feasible"] is True if True in by else None,
                "DefQ chosen": c.get("defq"),
                "latency_s": best["total_latency_s"] if best else None,
                "DefQ time_s": best["charges_s"] if best else None,  # accuracy_weight is 0 here
                "score_s": best["score"] if best else None,
                "accuracy_cost_pct": best["accuracy_drop_pct"] if best else None,
                "max compute without exits_pct": run.get("no_exits_max_compute_pct"),
                "status": run["termination"], "run_wall_s": round(wall, 1),
            })
    return pd.DataFrame(rows), runs


def _cells(df: pd.DataFrame) -> pd.DataFrame:
    """Floats to 6 significant digits, missing values to ``-``."""
    return df.map(lambda v: "-" if v is None or pd.isna(v) else f"{v:.6g}" if isinstance(v, float) else v)


def markdown(df: pd.DataFrame, dq: pd.DataFrame, prov: dict) -> str:
    lines = [
        "# Defences inside the optimizer: distribution only vs DP only vs hybrid",
        "",
        (f"Made by `{prov['command']}` on {prov['date']} ({prov['machine']}; load average {prov['load']} at start: "
         f"the machine is shared); total {prov['seconds']:.0f} s. Method: {METHOD}, one `--method defended` run per "
         "instance (see `compare.py`). Latency = sum of request latencies (s, the objective); shared = bytes moved "
         "between nodes; accuracy cost = normalised accuracy drop (%); SSIM = attacker SSIM from the noised tensor; "
         "status = termination of the chosen option's solve; gap = (score - least bound) / score over all the "
         "options of the row (the certificate of the row's choice); `-` = none."),
        "",
    ]
    show = ["tau", "bound_pct", "defence", "cut", "eps", "feasible", "latency_s", "shared_B", "accuracy_cost_pct",
            "attacker_ssim", "status", "gap", "options", "method"]
    for cnn, part in df.groupby("cnn", sort=False):
        src = part["dp_source"].dropna().unique()
        lines += [f"## {cnn} ({part['instance'].iloc[0].rsplit('-tau', 1)[0]}; DP effect: {', '.join(src) or '-'})", ""]
        lines.append(_cells(part[show]).to_markdown(index=False))
        lines.append("")
    lines += ["## DefQ and the expected load (LeNet declared served with early exits: the multi-exit MNIST CNN's "
              "measured shares, written out; distribution only, DefQ chosen by the optimizer)", "",
              _cells(dq).to_markdown(index=False), ""]
    return "\n".join(lines)


def main() -> int:
    t0 = time.perf_counter()
    prov = {"command": COMMAND, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()} {os.cpu_count()} CPU cores, Python {platform.python_version()}",
            "load": " ".join(f"{v:.1f}" for v in os.getloadavg())}
    insts = instances()
    df, runs = compare(insts)
    dq, qruns = defq_table(tight_defq_instance(), insts[1])
    prov["seconds"] = time.perf_counter() - t0
    df.to_csv(HERE / "results.csv", index=False)
    dq.to_csv(HERE / "defq.csv", index=False)
    atomic_write_json(HERE / "results.json", {**prov, "runs": runs, "defq_runs": qruns}, non_finite=True)
    atomic_write_text(HERE / "results.md", markdown(df, dq, prov))
    print(f"wrote {HERE / 'results.md'} ({prov['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
