"""Defence sub-commands: dp-effect, dp-tables, dp-sweep, defq-eval."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shlex
import sys
from pathlib import Path

from optdist.cli import CliError, number_flag, path_flag
from optdist.defences.dp import EPS_RULE, eps_ok
from optdist.io import atomic_write_json, atomic_write_text, make_output_folder
from optdist.jsonfile import quoted, text_of
from optdist.paths import PACKAGE_DATA

BENCH = Path("benchmarks/defences")
#: where a --quick smoke test writes without --out: not over the committed results in BENCH
QUICK = Path("runs/defences")


#: outputs of defq-eval's multi-exit CNN (5 ICs + the final classifier: ``MultiExitCNN().n_outputs``,
#: which needs torch): its --split is checked against it while parsing, before torch is imported
DEFQ_OUTPUTS = 6

#: the files dp-sweep and defq-eval write in their --out folder (checked before the work)
DP_SWEEP_FILES = ("results.json", "results.csv", "dp_sweep.png", "results.md")
DEFQ_EVAL_FILES = ("results.json", "results.csv", "perturbation.csv", "defq_exits.png", "results.md")


def _out_folder(args: argparse.Namespace, name: str, files: tuple[str, ...]) -> Path:
    """``--out``, else ``BENCH/name`` (the committed results), or ``QUICK/name-quick`` with
    ``--quick``, whose numbers are meaningless; created, with each of ``files`` in it checked
    (:func:`_checked_folder`) before the minutes of torch work."""
    default = QUICK / f"{name}-quick" if args.quick else BENCH / name
    return _checked_folder(default if args.out is None else args.out, files, name.replace("_", "-"))


#: --eps of dp-effect and dp-sweep: optdist.defences.dp's one rule for a Laplace budget (also the instance's),
#: each value once (a repeated one would be a repeated row: cli.refuse_repeats, while parsing)
EPS_FLAG = number_flag(EPS_RULE, "100", within=eps_ok, once="10 100 1000")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dp-effect", help="accuracy cost and attacker SSIM of Laplace DP at a layer cut")
    p.add_argument("cnn", help="zoo CNN (lenet, cifar, vgg16, vgg19)")
    p.add_argument("layer", help="profile layer whose output is noised, e.g. ReLU2")
    p.add_argument("--eps", action=EPS_FLAG, nargs="+", default=[10.0, 100.0, 1000.0],
                   help=f"{EPS_RULE} (default 10 100 1000); each once; checked before any work")
    p.add_argument("--tau", action=number_flag("a tolerated SSIM in (0, 1]", "0.3", within=lambda v: 0 < v <= 1),
                   default=0.3,
                   help="tolerated attacker SSIM (default 0.3)")
    p.add_argument("--source", choices=("auto", "measured", "paper"), default="auto")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_dp_effect)

    p = sub.add_parser("dp-tables", help="write the analytic DP/DefQ tables and plots from the papers' data")
    p.add_argument("--out", default=BENCH / "analytic", action=path_flag(str(BENCH / "analytic")), metavar="FOLDER",
                   help=f"folder for {', '.join(DP_TABLES_FILES)} (default {BENCH / 'analytic'}; created; each "
                        "path is checked before anything is written)")
    p.add_argument("--force", action="store_true", help="replace those files where --out already holds them "
                   "(without it they are refused, nothing written)")
    p.set_defaults(func=cmd_dp_tables)

    p = sub.add_parser("dp-sweep", help="measure accuracy and inversion SSIM under DP noise (torch, minutes)")
    p.add_argument("--cnn", default="lenet")
    p.add_argument("--layers", nargs="+",
                   help="layers of --cnn to split after (default for lenet: pool1 ReLU2; required for other nets); "
                        "checked before any work")
    p.add_argument("--eps", action=EPS_FLAG, nargs="+",
                   help=f"noisy epsilon grid, {EPS_RULE} (default: 1 ... 5000); each once; checked before any work")
    p.add_argument("--privacy-table", metavar="TABLE",
                   help="the privacy table the sweep is compared with (bundled name such as 'calibrated', or a path): "
                        "its recorded attacker is used, or the calibration attacker where that is stronger "
                        "(default: the calibration attacker)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test, numbers meaningless; a target "
                   "without trained weights, e.g. cifar, is trained 1 epoch on 500 images, cached apart)")
    p.add_argument("--out", action=path_flag(str(BENCH / "dp_sweep")), metavar="FOLDER",
                   help=f"results folder for {', '.join(DP_SWEEP_FILES)} (default "
                   f"{BENCH / 'dp_sweep'}; with --quick {QUICK / 'dp_sweep-quick'}; created; each path is checked "
                   "before the sweep)")
    p.add_argument("--install", action="store_true", help="also ship the result as optdist/data/dp_measured_<cnn>.json "
                   "(read by dp-effect and --method defended; not with --quick)")
    p.set_defaults(func=cmd_dp_sweep)

    p = sub.add_parser("defq-eval", help="multi-exit CNN + DeepSloth + DefQ on MNIST (torch, minutes)")
    p.add_argument("--attack-eps", action=number_flag("L-inf budgets in (0, 1]", "0.1", within=lambda v: 0 < v <= 1,
                                                      once="0.03125 0.1"),
                   nargs="+", help="L-inf budgets in (0, 1], on images scaled to [0, 1] (default 0.03125 0.1); each "
                   "once; checked before any work")
    p.add_argument("--split", action=number_flag(f"a whole number of outputs in [1, {DEFQ_OUTPUTS}]", "2", whole=True,
                                                 within=lambda v: 1 <= v <= DEFQ_OUTPUTS),
                   default=2, help=f"outputs (exits) hosted on the edge, 1-{DEFQ_OUTPUTS} (default 2)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test, numbers meaningless)")
    p.add_argument("--out", action=path_flag(str(BENCH / "defq_eval")), metavar="FOLDER",
                   help=f"results folder for {', '.join(DEFQ_EVAL_FILES)} (default "
                   f"{BENCH / 'defq_eval'}; with --quick {QUICK / 'defq_eval-quick'}; created; each path is checked "
                   "before the evaluation)")
    p.set_defaults(func=cmd_defq_eval)


def _command() -> str:
    return "optdist " + shlex.join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("optdist") else shlex.join(
        ["optdist", *sys.argv[1:]]
    )


def _provenance() -> dict[str, str]:
    import os

    return {
        "command": _command(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "load_average_at_start": " ".join(f"{v:.1f}" for v in os.getloadavg()),
    }


def cmd_dp_effect(args: argparse.Namespace) -> int:
    from optdist.defences.dp_effect import dp_effect

    _check_layer(args.cnn, args.layer)
    effects = [dp_effect(args.cnn, args.layer, e, args.tau, source=args.source).as_dict() for e in args.eps]
    if args.json:
        print(json.dumps(effects, indent=1))
        return 0
    import pandas as pd

    df = pd.DataFrame(effects)
    tensor = effects[0]["tensor"]
    if tensor is not None and tensor != args.layer:  # another tensor's numbers: labelled as its, not as the cut's
        df["source"] = f"measured at {tensor}"
    print(df.drop(columns=["provenance", "cnn", "layer", "tensor", "note"]).to_string(index=False))
    print(f"\nsource: {effects[0]['provenance']}")
    for e in effects:  # why an eps counts as less noise than asked, or frees nothing under tau
        if e["note"]:
            print(f"note: eps {e['eps']:g}: {e['note']}")
    if tensor is not None and " and " in tensor:
        print(f"note: {args.layer} itself was not measured: these are the larger of the numbers of {tensor}, the "
              f"measured tensors around it (to measure it: `optdist dp-sweep --cnn {args.cnn} --layers {args.layer} "
              "--install`)")
    elif tensor is not None and tensor != args.layer:
        from optdist.profiles import load_profile

        from optdist.defences.dp_effect import load_measured

        prof = load_profile(args.cnn)
        after = prof.index(tensor) > prof.index(args.layer)
        names = [la.name for la in prof.layers]
        layers = sorted({args.layer, *(m for m in load_measured(args.cnn)["layers"] if m in names)}, key=names.index)
        print(f"note: {args.layer} itself was not measured: these are {tensor}'s numbers, the "
              + (f"nearest measured tensor, after it (noise at {args.layer} may cost and protect otherwise; to "
                 f"measure it: `optdist dp-sweep --cnn {args.cnn} --layers {' '.join(layers)} --install`)" if after
                 else f"latest measured tensor before it (the privacy-table reading rule for the SSIM; the accuracy "
                      f"cost of noise at {args.layer} itself is unmeasured, so --method defended does not offer it)"))
    return 0


def _check_layer(cnn: str, layer: str) -> None:
    """dp-effect's ``layer``, a layer of ``cnn``'s profile, before any work: else a CliError naming
    it, the close match (case aside: ``relu2`` -> ``ReLU2``) and the layers."""
    from optdist.names import closest
    from optdist.profiles import load_profile

    names = [la.name for la in load_profile(cnn).layers]
    if layer not in names:
        close = closest(layer, names, ignore_case=True)
        fix = f"did you mean {close}? e.g. `optdist dp-effect {cnn} {close}`" if close else "name one of these"
        raise CliError(f"{cnn} has no layer {text_of(layer)}; its layers: {quoted(names)} (fix: {fix})")


def _header(title: str, prov: dict[str, str], extra: str = "") -> str:
    return (
        f"# {title}\n\nMade by `{prov['command']}` on {prov['date']} ({prov['machine']}; load average "
        f"{prov['load_average_at_start']} at start: the machine is shared).\n{extra}\n"
    )


#: the files dp-tables writes in its --out folder
DP_TABLES_FILES = ("dp_noise.csv", "dp_feasible.csv", "defq_paper_latency.csv", "defq_break_even.csv", "dp_paper.png",
                   "README.md")


def _dp_tables_folder(given: str | Path) -> Path:
    """dp-tables' --out, created, with every file it will write checked first (OUT/README.md a
    folder failed after the CSVs and the PNG were written, suggesting "dpt/README.md/result.json")."""
    return _checked_folder(given, DP_TABLES_FILES, "dp-tables")


def _checked_folder(given: str | Path, files: tuple[str, ...], command: str) -> Path:
    """The --out folder ``given`` of ``command``, created, with each of ``files`` in it checked
    (:func:`optdist.io.check_replaceable`: a folder, a link or a device there is refused, exit 2,
    before anything is written). An empty --out never reaches it: every --out is a
    :func:`~optdist.cli.path_flag`, which refuses it while parsing (it would be the current folder)."""
    out = make_output_folder(Path(given))
    for name in files:
        _check_output(out / name, "--out", f"{command} writes its {name} there, nothing was written (fix: move "
                      f"{out / name} away, or give another --out folder)")
    return out


def _check_output(path: Path, flag: str, says: str) -> None:
    """CliError naming ``path``, what is wrong with it and ``says`` (what the command writes there
    and the fix) where ``path`` cannot be replaced by a file."""
    from optdist.io import OutputPathError, check_replaceable

    try:
        check_replaceable(path, flag)
    except OutputPathError as e:
        raise CliError(f"{str(e).split(' (fix: ')[0]}; {says}") from None


def cmd_dp_tables(args: argparse.Namespace) -> int:
    from optdist.defences import dp_tables, report

    from optdist.io import refuse_overwrite

    out = _dp_tables_folder(args.out)  # a folder or a link where a file goes: refused first
    refuse_overwrite([out / name for name in DP_TABLES_FILES], args.force, "--out FOLDER")
    prov = _provenance()
    hl = dp_tables.headline_losses()
    parts = [
        _header("Analytic defence tables (from the papers' data, no training)", prov),
        "## DP noise, B-free closed forms (Algorithm 1: b = 2B/eps, sigma = 2 sqrt(2) B/eps)\n",
        report.write_table(report.noise_table(), out / "dp_noise"),
        "\n## DP: feasible epsilon intervals on the paper's grid (Ryu et al. Tables 2-6)\n",
        "`[lo, hi]`: lo = smallest eps from which the normalised loss stays <= L; hi = largest eps whose "
        "running-max white-box SSIM <= tau; `-` = no DP setting works at this split.\n",
        report.write_table(report.feasibility_table(), out / "dp_feasible", floatfmt=".2f"),
        "\nRecomputed headline losses (mean over cases; paper prints 0.476/2.066/5.021/12.454 %): "
        + ", ".join(f"{k} {v:.3f} %" for k, v in hl.items()),
        "\n\n![paper DP curves](dp_paper.png)\n",
        "\n## DefQ paper scenarios through the latency model (two-tier estimate, edge = exits 1-3)\n",
        "Link (illustrative, not from the paper): 5 GMAC/s edge, 1 TMAC/s cloud, 20 Mbit/s uplink, 20 ms RTT.\n",
        report.write_table(report.paper_latency_table(), out / "defq_paper_latency", floatfmt=".3g"),
        "\n### Break-even attacked fraction for always-on DefQ (L-inf)\n",
        report.write_table(report.break_even_table(), out / "defq_break_even", floatfmt=".3f"),
    ]
    report.plot_paper_dp(out / "dp_paper.png")
    atomic_write_text(out / "README.md", "\n".join(parts) + "\n")
    print(out / "README.md")
    return 0


def cmd_dp_sweep(args: argparse.Namespace) -> int:
    import dataclasses

    from optdist.attacks.attacker import Attacker
    from optdist.cli import CliError
    from optdist.defences import dp_measure, report

    if args.quick and args.install:  # dp-effect and the defended placement would read its numbers as measured
        raise CliError(f"--install with --quick would ship a smoke test's meaningless numbers as "
                       f"{PACKAGE_DATA / f'dp_measured_{args.cnn}.json'} (fix: leave out --quick to install, "
                       "or --install to smoke-test)")
    kw: dict = {"cnn": args.cnn}
    if args.layers is not None:
        kw["layers"] = tuple(args.layers)
    if args.eps:
        kw["eps"] = tuple(args.eps)
    try:  # --cnn, --layers and --eps, before the table, the target and the progress bar
        if args.layers is None and args.cnn != "lenet":  # the default layers are lenet's: another net has none
            names = dp_measure.split_layers(args.cnn)
            default = " ".join(dp_measure.SweepConfig.__dataclass_fields__["layers"].default)
            raise CliError(f"--layers is required for --cnn {args.cnn} (the default {default} is lenet's; "
                           f"fix: give split layers from {quoted(names)})")
        dp_measure.SweepConfig(**kw)
    except dp_measure.SweepConfigError as e:
        raise CliError(f"--{e.field} {' '.join(map(str, e.value)) if isinstance(e.value, list) else e.value}: "
                       f"{e.reason}") from None
    try:
        attacker, source = dp_measure.attacker_for(args.cnn, args.privacy_table)
    except (FileNotFoundError, ValueError) as e:  # the table's own error says its fix where it has one
        fix = "" if "(fix: " in str(e) else (f" (fix: give a bundled name such as \"calibrated\", or the path of a "
                                             f"privacy table for {args.cnn})")
        raise CliError(f"--privacy-table {args.privacy_table}: {e}{fix}") from None
    kw["attacker"] = attacker
    if args.quick:
        kw |= {"finetune_samples": 500, "accuracy_samples": 500, "rmle_samples": 10, "rmle_steps": 10,
               "target_epochs": 1, "target_samples": 500,
               "attacker": dataclasses.replace(attacker, samples=200, epochs=1, test_samples=10)}  # fmt: skip
        source = {**source, "rule": source["rule"] + "; --quick: shrunk (numbers meaningless)"}
    out = _out_folder(args, "dp_sweep", DP_SWEEP_FILES)  # before the minutes of the sweep
    if args.install:
        installed = PACKAGE_DATA / f"dp_measured_{args.cnn}.json"
        _check_output(installed, "--install", f"dp-sweep --install writes its result there, nothing was written "
                      f"(fix: move {installed} away, or leave out --install)")
    prov = _provenance()
    result = dp_measure.run_sweep(dp_measure.SweepConfig(**kw), attacker_source=source) | prov
    atomic_write_json(out / "results.json", result, non_finite=True)
    df = report.dp_sweep_frame(result)
    b = ", ".join(f"{la}: B = {e['bound']:.4g}, shape {e['shape']}" for la, e in result["layers"].items())
    md = [
        _header(f"Measured DP sweep: {result['cnn']} / {result['dataset']}", prov,
                f"\nTarget test accuracy {result['baseline_acc']}; {b}; total {result['seconds']} s "
                f"on {result['threads']} torch thread(s); black-box attack code: {result['attack_code']}.\n"
                f"Black-box attacker ({result['attacker_source']['rule']}; privacy table "
                f"{result['attacker_source']['privacy_table']}): {Attacker.from_record(result['attacker']).describe()}. "
                f"White-box rMLE scored on the first {result['config']['rmle_samples']} of those test images.\n"
                "Rows: `plain` = undefended split, `clip` = Algorithm 1 rescale only, `dp` = rescale + "
                "Lap(2B/eps). `loss % (ft)` compares the noisy fine-tuned tail with the plain split's tail "
                "fine-tuned on the same schedule without noise.\n"),  # fmt: skip
        report.write_table(df, out / "results", floatfmt=".4g"),
        "\n![DP sweep](dp_sweep.png)\n",
    ]
    report.plot_dp_sweep(result, out / "dp_sweep.png")
    atomic_write_text(out / "results.md", "\n".join(md) + "\n")
    if args.install:
        print(atomic_write_json(PACKAGE_DATA / f"dp_measured_{args.cnn}.json", result, non_finite=True))
    print(out / "results.md")
    return 0


def cmd_defq_eval(args: argparse.Namespace) -> int:
    from optdist.defences import defq_measure, report

    kw: dict = {"split": args.split}
    if args.attack_eps:
        kw["attack_eps"] = tuple(args.attack_eps)
    if args.quick:
        kw |= {"train_samples": 500, "epochs": 1, "calib_samples": 100, "table_samples": 50, "eval_samples": 100,
               "attack_steps": 3}  # fmt: skip
    try:
        cfg = defq_measure.DefQConfig(**kw)  # before --out's folder is made
    except ValueError as e:
        raise CliError(str(e)) from None
    out = _out_folder(args, "defq_eval", DEFQ_EVAL_FILES)  # before the minutes of the evaluation
    prov = _provenance()
    result = defq_measure.run_defq_eval(cfg) | prov
    atomic_write_json(out / "results.json", result, non_finite=True)
    m = result["model"]
    md = [
        _header("Measured DefQ evaluation: multi-exit CNN on MNIST", prov,
                f"\nOutputs {len(m['macs'])} (5 ICs + final), cumulative MACs {m['macs']}, "
                f"final-classifier accuracy (calibration set) {m['final_acc_calib']:.3f}; thresholds q per RAD "
                f"{result['thresholds']}; edge hosts exits 1-{result['config']['split']}; link {result['link']}; "
                f"total {result['seconds']} s.\n"),  # fmt: skip
        report.write_table(report.defq_frame(result), out / "results", floatfmt=".4g"),
        "\n![exit distributions](defq_exits.png)\n",
        "\nDoes the perturbation survive DefQ? RMS on the 0-255 scale of d = x_adv - x and of "
        "DefQ(x_adv) - DefQ(x):\n",
        report.write_table(report.perturbation_frame(result), out / "perturbation", floatfmt=".3g"),
        *(f"\nMean |DCT(d)| per frequency, budget {eps}:\n\n```\n{_fmt_table(p['dct_abs_mean'], '6.1f')}\n```\n"
          for eps, p in result["perturbation"].items()),  # fmt: skip
        "\nDefQ tables (rows u, columns v):\n",
        *(f"\n{eps} / {name}:\n\n```\n{_fmt_table(t)}\n```\n" for eps, ts in result["tables"].items()
          for name, t in ts.items() if name.startswith("DefQ")),  # fmt: skip
    ]
    report.plot_defq(result, out / "defq_exits.png")
    atomic_write_text(out / "results.md", "\n".join(md) + "\n")
    print(out / "results.md")
    return 0


def _fmt_table(t: list[list[float]], fmt: str = "4.0f") -> str:
    return "\n".join(" ".join(f"{v:{fmt}}" for v in row) for row in t)
