"""Decision time of the DQN placement policies: batched rounds against one forward per segment.

    .venv/bin/python benchmarks/online/decisions.py            # writes decisions.{csv,md} here
    .venv/bin/python benchmarks/online/decisions.py --quick    # LeNet only (a minute): prints, writes nothing
    .venv/bin/python benchmarks/online/decisions.py --quick --out DIR   # ... and writes DIR/decisions.{csv,md}
    .venv/bin/python benchmarks/online/decisions.py --instances vgg16-250x70-tau0.6 --policies paper --out DIR
                                                                # some rows only (files only with --out)

For LeNet (10 requests), CIFAR, VGG16 and VGG19 (the first requests of the 250-request loads, 70
devices) a masked double DQN (stage reward) and the paper's agent (eq. 11, unmasked) are
trained briefly (seed 0; the decision time depends on what the policy does, not on how well it
does it; on the VGG loads the committed, longer-trained ``models/policies/mix-70`` too), then place the requests online three times: with batched decisions
(:func:`optdist.rl.policy.place_online`, what ``optdist solve --method rl`` runs; again without its
warm-up, ``warmup=False``, for the first request's time without it) and with one
observation and one forward per segment (the path before, ``batched=False``), on the first
requests only where that is slow. All must give the same placements (checked). Times are the
wall seconds of each request's decisions, on one thread, on this machine (shared: the load
average is printed), and for the batched path also its CPU seconds (``time.process_time``, the
fair number on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]  # this checkout's optdist (run by path, the script's folder comes first, not the cwd)

from optdist.cli import FlagError, path_flag  # noqa: E402
from optdist.instance import load_instance  # noqa: E402
from optdist.io import atomic_write_text, check_output_folder, make_output_folder  # noqa: E402
from optdist.rl.decide import Scorer, place_requests, warm_up_requests  # noqa: E402
from optdist.rl.env import Features  # noqa: E402
from optdist.rl.policy import Policy, load_policy, place_online  # noqa: E402
from optdist.rl.presets import PRESETS  # noqa: E402
from optdist.rl.train import train  # noqa: E402

from _common import machine  # noqa: E402
from decision_split import request_cpu  # noqa: E402

# instance, requests placed batched, requests placed per segment too, preset, training episodes
CASES = [
    ("lenet-10x10-tau0.8", 10, 10, "lenet", 300),
    ("cifar-250x70-tau0.6", 40, 5, "cifar", 60),
    ("vgg16-250x70-tau0.6", 40, 3, "vgg", 20),
    ("vgg19-250x70-tau0.6", 40, 3, "vgg", 20),
]
#: train_freq 1 (a gradient step per env step) as the committed rows were trained, whatever the preset's
VARIANTS = {"masked": dict(masked=True, double=True, reward="stage", train_freq=1),
            "paper": dict(masked=False, double=False, reward="paper", train_freq=1)}
#: a policy trained for longer (1000 episodes on the Figs. 13-16 training set, masked double DQN): its
#: decisions on the VGG loads as the figures' series made them
PRETRAINED = ROOT / "models" / "policies" / "mix-70"


def same_placements(a, b, n: int) -> bool:
    for x, y in zip(a.owners[:n], b.owners[:n], strict=True):
        if (x is None) != (y is None) or any(not np.array_equal(u, v) for u, v in zip(x or [], y or [], strict=True)):
            return False
    return True


PRETRAINED_NAME = "pretrained mix-70"
POLICIES = (*VARIANTS, PRETRAINED_NAME)


def policies(inst, preset: str, episodes: int, only: tuple[str, ...] = POLICIES):
    """(name, policy) of each :data:`VARIANTS` trained briefly on ``inst``, then, for the VGG
    loads, the committed policy of the paper's VGG / heterogeneous series (:data:`PRETRAINED`);
    only those named in ``only`` (:data:`POLICIES`)."""
    for variant, kw in VARIANTS.items():
        if variant in only:
            res = train(inst, PRESETS[preset], episodes=episodes, seed=0, progress=False, **kw)
            yield variant, Policy.from_agent(res.agent.q, {**res.config, "train_s": res.train_s})
    if preset == "vgg" and PRETRAINED_NAME in only:
        yield PRETRAINED_NAME, load_policy(PRETRAINED)


def run(name: str, n: int, n_ref: int, preset: str, episodes: int, only: tuple[str, ...] = POLICIES) -> list[dict]:
    inst = load_instance(ROOT / "instances" / "paper" / f"{name}.json")
    inst = inst.with_spec(requests=inst.spec.requests[:n])
    ref_inst = inst.with_spec(requests=inst.spec.requests[:n_ref])
    rows = []
    for variant, policy in policies(inst, preset, episodes, only):
        with request_cpu() as cpu:
            out, dec, seg = place_online(inst, policy)
        cpu = cpu[len(warm_up_requests(inst)):]  # the warm-up's placers came first
        with request_cpu() as cold_cpu:
            cold, cold_dec, _ = place_online(inst, policy, warmup=False)
        cfg = policy.config
        ref, ref_dec, _ = place_requests(ref_inst, Features(ref_inst, cfg["cnns"], cfg["max_layers"]), Scorer(policy.net).choose,
                                         policy.masked, batched=False)
        dec, ref_dec, cpu = 1e3 * np.array(dec), 1e3 * np.array(ref_dec), 1e3 * np.array(cpu)
        rows.append({
            "instance": name, "policy": variant, "train_episodes": policy.config["episodes"],
            "train_s": round(policy.config["train_s"], 1),
            "requests": n, "segments_per_request": int(np.median(seg)), "rejected": len(out.rejected),
            "warmup_ms": 1e3 * (out.warmup_s or 0.0), "batched_ms_mean": dec.mean(), "batched_ms_median": float(np.median(dec)),
            "batched_ms_max": dec.max(), "batched_ms_mean_with_warmup": (1e3 * (out.warmup_s or 0.0) + dec.sum()) / n,
            "batched_ms_first": dec[0], "batched_ms_first_no_warmup": 1e3 * cold_dec[0],
            "batched_ms_mean_after_first": dec[1:].mean(), "batched_cpu_ms_first": cpu[0],
            "batched_cpu_ms_first_no_warmup": 1e3 * cold_cpu[0],
            "batched_cpu_ms_mean_after_first": cpu[1:].mean(), "batched_us_per_segment": 1e3 * dec.sum() / max(sum(seg), 1),
            "per_segment_requests": n_ref, "per_segment_ms_mean": ref_dec.mean(),
            "speedup_first": ref_dec[0] / (1e3 * cold_dec[0]), "speedup_after_first": ref_dec[1:].mean() / dec[1:n_ref].mean(),
            "same_placements": same_placements(out, ref, n_ref) and same_placements(cold, ref, n_ref),
        })
        print({k: (round(float(v), 3) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="LeNet only: prints the table; writes files only with --out (the full table here is kept)")
    ap.add_argument("--out", type=Path, metavar="DIR", action=path_flag("decisions_out", takes="folder"),
                    help="folder for decisions.{csv,md} (default: benchmarks/online/, the full run only)")
    names = [case[0] for case in CASES]
    ap.add_argument("--instances", nargs="+", metavar="NAME",
                    help=f"only these instances' rows, of: {', '.join(names)} (prints; files only with --out)")
    ap.add_argument("--policies", nargs="+", metavar="NAME",
                    help=f"only these policies' rows, of: {', '.join(POLICIES)} (the last on the VGG "
                         "loads only; prints; files only with --out)")
    try:  # --out '' was Path('.'): the files went into the working folder
        args = ap.parse_args(argv)
    except FlagError as e:
        ap.error(str(e))
    if args.out is not None:  # before the training (before: a file above it, or no permission, failed after it)
        try:
            check_output_folder(args.out)
        except ValueError as e:
            ap.error(str(e))
    for flag, given, known in (("--instances", args.instances, names), ("--policies", args.policies, POLICIES)):
        unknown = [x for x in given or () if x not in known]
        if unknown:
            quoted = ", ".join("'" + x + "'" for x in known)
            ap.error(f"{flag} {' '.join(unknown)}: not one of this benchmark's (fix: give some of {quoted})")
    if args.quick and args.instances:
        ap.error(f"--quick with --instances: --quick is LeNet only (fix: give one of them; --instances {CASES[0][0]} "
                 "is --quick's row)")
    cases = CASES[:1] if args.quick else [c for c in CASES if args.instances is None or c[0] in args.instances]
    only = POLICIES if args.policies is None else tuple(args.policies)
    if not any(p in VARIANTS or case[3] == "vgg" for p in only for case in cases):
        ap.error(f"--policies {' '.join(only)}: '{PRETRAINED_NAME}' runs on the VGG loads only, none of which is "
                 "selected (fix: add another policy or a VGG instance)")
    some = args.quick or args.instances is not None or args.policies is not None  # not the full table
    out = args.out or (None if some else HERE)
    torch.set_num_threads(1)
    t0 = time.time()
    rows = [r for case in cases for r in run(*case, only)]
    selected = (["--quick"] if args.quick else []) + (["--instances", *args.instances] if args.instances else []) + (
        ["--policies", *args.policies] if args.policies else [])  # the flags that chose the rows
    table = pd.DataFrame(rows)
    same = bool(table.same_placements.all())
    if out is None:  # --quick or some rows without --out: the committed full table stays as it is
        print(table.to_markdown(index=False, floatfmt=".4g"))
        return 0 if same else 1
    make_output_folder(out)
    atomic_write_text(out / "decisions.csv", table.to_csv(index=False))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    md = [
        "# Decision time of the DQN placement policies",
        "",
        f"Command: `{shlex.join(['python', 'benchmarks/online/decisions.py', *selected])}` "
        f"({time.time() - t0:.0f} s, training included)  ",
        f"Machine: {machine()}; load average at the end {load} (other work shared the 2 cores)  ",
        "batched: `place_online` (one forward per round of segments, optdist.rl.decide); per_segment: one observation "
        "and one forward per segment (`batched=False`), on the first `per_segment_requests` requests; "
        "same_placements: both placed those requests identically (batched with and without warm-up). Times in ms "
        "per request (decisions only; wall, and batched_cpu_*: CPU time); warmup_ms: `place_online`'s warm-up before "
        "the first arrival (the CNN's first request decided on a scratch copy of the empty usage, wall; start-up "
        "work, in no request's time), which gives the first request a guess (batched_*_first); *_no_warmup: the "
        "first request without it (`warmup=False`: guessed from the first state's ranking), which speedup_first "
        "compares with per_segment; the others have the previous request's guess (speedup_after_first, over "
        "requests 2 to per_segment_requests); batched_ms_max: the slowest request; batched_ms_mean_with_warmup: the "
        "warm-up charged to the requests (warm-up + all decisions, over the requests). `pretrained mix-70`: the "
        "committed policy of the VGG / heterogeneous series (`models/policies/mix-70`, 1000 episodes), the others "
        "trained here briefly.",
        "",
        table.to_markdown(index=False, floatfmt=".4g"),
        "",
    ]
    atomic_write_text(out / "decisions.md", "\n".join(md))
    print(f"wrote {out / 'decisions.csv'}, {out / 'decisions.md'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
