"""``optdist calibrate`` and ``optdist train-target`` (the attack suite; torch is imported lazily)."""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

from optdist.attacks.attacker import CALIBRATION
from optdist.cli import (checked_flag, comma_items, count_flag, number_flag, option_flag, path_flag, read_number,
                         refuse_repeats)
from optdist.io import (
    OutputPathError,
    check_output_file,
    check_output_folder,
    check_overwritable,
    make_output_folder,
    refuse_overwrite,
)
from optdist.jsonfile import text_of
from optdist.options import number_problem
from optdist.solvers.base import MAX_THREADS

log = logging.getLogger("optdist")

MAX_EPOCHS = 100_000  # training epochs (a typo's extra zeros: refused, not run for days)
MAX_SAMPLES = 100_000_000  # images drawn from a dataset


def _ints(example: str, distinct: str | None = None, default: str | None = None) -> type[argparse.Action]:
    """A :func:`~optdist.cli.checked_flag` for comma-separated whole numbers >= 1 (map counts m,
    an input shape C,H,W), the fix's example ``example``; one rule for every comma list
    (:func:`~optdist.cli.comma_items`); ``distinct``: what each value is, none given twice
    (:func:`~optdist.cli.refuse_repeats`: the m values, a repeated row of the table)."""

    def parse(text: str, flag: str) -> tuple[int, ...]:
        values = tuple(read_number(v, whole=True) for v in comma_items(text, flag, example, distinct or "number",
                                                                             default))
        if any(number_problem(v, whole=True, within=lambda n: n >= 1) for v in values):
            raise ValueError(f"is not a list of whole numbers >= 1 (fix: give them separated by commas, "
                             f"e.g. {flag} {example})")
        if distinct:
            refuse_repeats(tuple(int(v) for v in values), flag, example, distinct)
        return tuple(int(v) for v in values)

    return checked_flag(parse)


def _layers(text: str, flag: str) -> tuple[str, ...]:
    """Comma-separated layer names, none empty (``relu1,,relu2``, ``''``: leave the flag out for
    the default layers) and none twice (a repeated row of the table): ValueError for
    :func:`~optdist.cli.checked_flag`."""
    names = comma_items(text, flag, "conv1,ReLU2", "layer name", "the target's default layers")
    refuse_repeats(names, flag, "conv1,ReLU2", "layer")
    return names


def _taus(text: str, flag: str) -> tuple[float, ...]:
    """Comma-separated tolerated SSIMs, each in (0, 1], none empty, none twice (a repeated one
    would be a repeated column of the Nf table); ValueError for :func:`~optdist.cli.checked_flag`."""
    taus = tuple(read_number(v) for v in comma_items(text, flag, "0.8,0.6,0.4", "tau", "0.8,0.6,0.4"))
    if any(number_problem(t, within=lambda v: 0 < v <= 1) for t in taus):
        raise ValueError(f"is not a list of SSIM values in (0, 1] (fix: give them separated by commas, "
                         f"e.g. {flag} 0.8,0.6,0.4)")
    refuse_repeats(taus, flag, "0.8,0.6,0.4", "tau")
    return taus


def _data(text: str, flag: str) -> str:
    """A dataset spec, not empty or blank (``--data ""`` was the target's own dataset without a
    word); the spec itself is checked where it is loaded (:func:`optdist.attacks.datasets.check_spec`)."""
    if not text.strip():
        raise ValueError(f"is empty (fix: give a dataset, e.g. {flag} mnist or {flag} folder:DIR, or leave {flag} out "
                         "for the target's own)")
    return text


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", action=checked_flag(_data),
                   help="dataset spec: mnist, orl, natural, cifar10:DIR, mnist-idx:DIR, folder:DIR")
    p.add_argument("--weights-dir", action=path_flag("models/weights"),
                   help="where target weights live (default models/weights)")
    p.add_argument("--threads", action=count_flag("torch threads", 1, MAX_THREADS), default=1, metavar="N",
                   help="torch CPU threads (default 1; see --jobs)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="measure a privacy table by black-box model inversion (He et al.) on m of P maps",
        description="Train inverse networks from m of a layer's P output maps to the image and score them by "
        "SSIM/PSNR on held-out images; write a privacy table, a reconstruction grid and the implied Nf. "
        "Targets: a zoo CNN, or your network: --module MOD:BUILDER [--weights FILE] [--profile FILE | --input C,H,W] "
        "with --images DIR (your PNG/JPEG files) or --data SPEC.",
    )
    p.add_argument("cnn", nargs="?", help="target: lenet, cifar or orlvgg; with --module, the table's network name "
                   "(default: the profile file's, else the builder's name in lower case)")
    p.add_argument("--module", metavar="MOD:BUILDER", help="your network, as optdist profile takes it: pkg.mod:builder "
                   "or file.py:builder (a callable returning a torch.nn.Module); needs --images or --data")
    p.add_argument("--weights", action=path_flag("mynet.pt"),
                   help="with --module: its state_dict file (torch.save(net.state_dict(), PATH)); "
                   "default: the builder's initial weights")
    p.add_argument("--profile", action=path_flag("mynet.profile.json"),
                   help="with --module: its profile file (optdist profile --module ... --out FILE); table "
                   "rows and the network name are the file's")
    p.add_argument("--input", metavar="C,H,W", action=_ints("3,32,32"), help="with --module and no --profile: input shape, e.g. 3,32,32")
    p.add_argument("--images", action=path_flag("my-images/"),
                   help="a folder of your PNG/JPEG images (any depth), converted to the network's input "
                   "shape and split into the adversary's and the test images by --split-seed")
    p.add_argument("--split-seed", action=option_flag("seed", "0"), default=None,
                   help="with --images: seed of its split (default 0)")
    p.add_argument("--test-fraction", action=number_flag("a share strictly between 0 and 1", "0.2", within=lambda v: 0 < v < 1),
                   default=None, help="with --images: share of them held out for scoring (default 0.2)")
    p.add_argument("--layers", action=checked_flag(_layers), default=(), help="attacked layers, e.g. conv1,ReLU2, "
                   "each once (default per target; with --module every layer but the last)")
    p.add_argument("--maps", action=_ints("16,4,1", "m value", "P, P/2, ..., 1"), default=(), help="m values, e.g. 8,4,2,1 (default P, P/2, ..., 1; P always)")
    p.add_argument("--subsets", action=count_flag("random m-subsets per cell", 3, 1000), default=3, help="random m-subsets per cell (default 3)")
    p.add_argument("--seeds", action=count_flag("training seeds per subset", 1, 1000), default=1, help="training seeds per subset (default 1)")
    a = CALIBRATION  # the one attacker definition (optdist/attacks/attacker.py), shared with the DP sweep
    p.add_argument("--epochs", action=count_flag("inverse-network epochs", a.epochs, MAX_EPOCHS), default=a.epochs,
                   help=f"inverse-network epochs (default {a.epochs})")
    p.add_argument("--samples", action=count_flag("training images", a.samples, MAX_SAMPLES), default=a.samples,
                   help=f"adversary's training images (default {a.samples})")
    p.add_argument("--test-samples", action=count_flag("test images", a.test_samples, MAX_SAMPLES), default=a.test_samples,
                   help=f"held-out images scored (default {a.test_samples})")
    p.add_argument("--name", default="calibrated", help="table name (default calibrated)")
    p.add_argument(
        "--out", default=None, action=path_flag("runs/attacks/lenet"),
        help="folder for grid PNG, Nf Markdown, attacks JSON (default runs/attacks/CNN)"
    )
    p.add_argument("--table", default=None, action=path_flag("runs/attacks/lenet/lenet-calibrated.json"),
                   help="table JSON path (default OUT/CNN-NAME.json)")
    p.add_argument("--force", action="store_true", help="replace the table and the files in --out that this run writes "
                   "(refused without it, before training a target or any attack: e.g. --table "
                   "models/privacy/lenet-calibrated.json, the bundled LeNet table, exists), and train a zoo target "
                   "whose .pt or .json is in --weights-dir without the other, or whose weights are NaN/inf, replacing "
                   "it; a --table file that "
                   "is not a privacy table is refused even so")
    p.add_argument("--taus", action=checked_flag(_taus), default=(0.8, 0.6, 0.4), help="tau values for the Nf table")
    p.add_argument("--jobs", action=count_flag("worker processes", 2, MAX_THREADS), default=1, help="worker processes, one torch thread each (default 1)")
    p.add_argument("--target-epochs", action=count_flag("target epochs", 1, MAX_EPOCHS),
                   help="epochs if the target must be trained first")
    p.add_argument("--target-samples", action=count_flag("training images", 1000, MAX_SAMPLES),
                   help="training images if the target must be trained first")
    _common(p)
    p.set_defaults(func=calibrate)

    t = subparsers.add_parser("train-target", help="train a target CNN on CPU and save its weights")
    t.add_argument("cnn", help="target: lenet, cifar or orlvgg")
    t.add_argument("--epochs", action=count_flag("training epochs", 5, MAX_EPOCHS),
                   help="training epochs (default per target)")
    t.add_argument("--samples", action=count_flag("training images", 1000, MAX_SAMPLES),
                   help="use this many training images (default all)")
    t.add_argument("--seed", action=option_flag("seed", "0"), default=0, metavar="N", help="random seed, >= 0 (default 0)")
    t.add_argument("--force", action="store_true", help="replace the target's weights already in --weights-dir "
                   "(refused without it: the bundled ones in models/weights are committed)")
    _common(t)
    t.set_defaults(func=train_target)


def _command_line(args: argparse.Namespace) -> str:
    """The command with every option of ``args.command``'s parser spelt out (reproducible whatever the
    defaults become), as that parser reads it back: each flag under its own name (``-v`` twice for
    ``-vv``), zeros kept (``--split-seed 0``), lists comma-separated, attributes the parser does not
    set (``whole_process``, ``started``) left out. Options left at None (not given, no default) and
    empty lists (the target's defaults) are left out: the parser gives them so again."""
    from optdist.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = sub.choices[args.command]
    given = vars(args)
    words, flags = ["optdist", args.command], []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction)) or action.dest not in given:
            continue
        value = given[action.dest]
        if value is None or value is False or value == () or value == []:
            continue
        if not action.option_strings:  # the positional (the target's name)
            words.append(str(value))
            continue
        flag = max(action.option_strings, key=len)  # --verbose, not -v
        if isinstance(action, argparse._CountAction):
            flags += [flag] * int(value)
        elif isinstance(action, (argparse._StoreTrueAction, argparse._StoreConstAction)):
            flags.append(flag)
        else:
            flags += [flag, ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)]
    return shlex.join(words + flags)


def calibrate(args: argparse.Namespace) -> int:
    import torch

    from optdist.attacks import calibrate as cal
    from optdist.paths import REPO_ROOT
    from optdist.privacy import FORMAT

    if not args.module:
        if not args.cnn:
            raise ValueError("no target given (fix: name a target (lenet, cifar or orlvgg), e.g. `optdist calibrate "
                             "lenet`, or give your network: --module MOD:BUILDER with --images DIR or --data SPEC)")
        stray = [f"--{k}" for k in ("weights", "profile", "input") if getattr(args, k) is not None]
        if stray:
            raise ValueError(f"{', '.join(stray)} go with --module (your network); a zoo target uses --weights-dir "
                             f"(fix: leave {' and '.join(stray)} out; {args.cnn}'s own weights: --weights-dir DIR, as "
                             f"`optdist train-target {args.cnn} --weights-dir DIR` writes them)")
    else:
        stray = [f"--{k.replace('_', '-')}" for k in ("weights_dir", "target_epochs", "target_samples")
                 if getattr(args, k) is not None]
        if stray:
            raise ValueError(f"{', '.join(stray)} go with a zoo target; with --module give --weights (your state_dict)")
    stray = [f for f, v in (("--split-seed", args.split_seed), ("--test-fraction", args.test_fraction)) if v is not None]
    if stray and not args.images:  # they split --images; a bundled dataset has its own attack and test splits
        raise ValueError(f"{' and '.join(stray)} {'go' if len(stray) > 1 else 'goes'} with --images (they split your image folder into the attacker's "
                         "and the test images); a bundled dataset (--data, or the target's own) has fixed splits "
                         f"(fix: leave {' and '.join(stray)} out, or give --images DIR)")
    if args.images:  # the defaults, spelt out in the recorded command
        args.split_seed = 0 if args.split_seed is None else args.split_seed
        args.test_fraction = 0.2 if args.test_fraction is None else args.test_fraction
    _check_outputs(args)  # before a target is trained or any attack: a path that cannot be written
    torch.set_num_threads(args.threads)
    cfg = cal.Config(
        target="" if args.module else args.cnn,
        module=args.module,
        network=(args.cnn or "") if args.module else "",
        weights=args.weights,
        profile=args.profile,
        input_shape=args.input,
        images=args.images,
        split_seed=0 if args.split_seed is None else args.split_seed,
        test_fraction=0.2 if args.test_fraction is None else args.test_fraction,
        layers=args.layers,
        maps=args.maps,
        subsets=args.subsets,
        seeds=args.seeds,
        epochs=args.epochs,
        samples=args.samples,
        test_samples=args.test_samples,
        name=args.name,
        data=args.data,
        weights_dir=args.weights_dir,
        target_epochs=args.target_epochs,
        target_samples=args.target_samples,
        command=_command_line(args),
        force=args.force,
    )

    def out_dir(cnn: str) -> Path:
        return Path(args.out) if args.out else REPO_ROOT / "runs" / "attacks" / cnn

    def refuse_replacing(cnn: str) -> None:
        """Before the attacks, once the network's name is known: names its files cannot take (a network or
        table name with / or \\, or . or ..: "a/b" wrote OUT/a/b-calibrated.json; an empty one, which the
        table refused once the attacks had run), the files it would replace."""
        for name, what in ((cnn, "network name (CNN, or the \"cnn\" of the --profile file)"), (args.name, "--name")):
            if not name.strip():
                raise ValueError(f"{what} {text_of(name)} is empty: the table and the files calibrate writes take it "
                                 f"(fix: give a name, e.g. {'--name calibrated' if what == '--name' else 'mynet'})")
            if "/" in name or "\\" in name or name.strip() in (".", ".."):
                example = "-".join(p for p in name.replace("\\", "/").split("/") if p.strip(". ")) or "mynet"
                raise ValueError(f"{what} {text_of(name)} is no file name: the files calibrate writes take it "
                                 f"(CNN-NAME.json and its -attacks.json, -grid.png, -nf.md) (fix: write it without "
                                 f"/ or \\, e.g. {example})")
        paths = cal.output_paths(cnn, args.name, out_dir(cnn), args.table)
        check_output_folder(out_dir(cnn), "--out")
        clash = [k for k, v in paths.items() if k != "table" and Path(v).absolute() == Path(paths["table"]).absolute()]
        if clash:
            raise OutputPathError(f"--table {paths['table']} is the {clash[0]} file this run writes in --out "
                                  f"{out_dir(cnn)} (fix: give the table another name, or leave --table out)")
        check_overwritable(paths["table"], (FORMAT,), "--table")  # even with --force: not a table
        refuse_overwrite(list(paths.values()), args.force, "--out DIR, --table FILE or --name NAME")

    if args.cnn:  # the table's network name is known now (a zoo target, or --module's given name): refuse
        refuse_replacing(args.cnn)  # before a zoo target without weights is trained (minutes), not after
    result = cal.run(cfg, progress=not args.no_progress, jobs=args.jobs,
                     before_attacks=None if args.cnn else refuse_replacing)  # the name from --module's profile
    paths = cal.write(result, out_dir(result.table.cnn), args.table, args.taus)
    print(cal.ssim_markdown(result.table))
    print(cal.nf_markdown(result.table, args.taus, result.profile))
    for what, path in paths.items():
        print(f"{what}: {path}")
    from optdist.privacy import deeper_row_warnings, output_row_warnings
    from optdist.profiles import available_cnns, load_profile

    profile = result.profile or (load_profile(result.table.cnn) if result.table.cnn in available_cnns() else None)
    for w in deeper_row_warnings(result.table, profile, str(paths["table"])) if profile is not None else []:
        log.warning("%s", w)  # the layers before the first row attacked read a deeper one (MODEL.md section 6)
    for tau in args.taus if profile is not None else []:
        for w in output_row_warnings(result.table, profile, str(paths["table"]), tau):
            log.warning("%s", w)  # an elementwise layer's own output row stricter than the row governing it
    warnings = result.table.provenance.get("warnings", [])
    if warnings:  # each was said once on stderr when found (cal.run): here only where they are kept
        log.warning("this table is weak evidence: %d warning(s) above, kept in its provenance \"warnings\" "
                    "(`optdist validate %s` repeats them)", len(warnings), paths["table"])
    return 0


def _check_outputs(args: argparse.Namespace) -> None:
    """--out and --table, before any work: --out a folder (created later, with its parents), --table
    a ``.json`` file in an existing folder (optdist creates no folder for a file the user names), not --out
    itself, and no document other than a privacy table, which --force does not replace."""
    from optdist.privacy import FORMAT

    if args.out is not None:
        check_output_folder(args.out, "--out")
    if args.table is not None:
        table = Path(args.table)
        if args.out is not None and table.absolute() == Path(args.out).absolute():
            raise OutputPathError(f"--table {table} is the --out folder {args.out} (fix: give the table a file "
                                  f"name, e.g. --table {Path(args.out) / 'table.json'}, or leave --table out)")
        if table.is_dir():
            raise OutputPathError(f"--table {table}: is a folder (fix: give a file path, e.g. --table "
                                  f"{table / 'table.json'})")
        if table.suffix.lower() != ".json":  # an instance's "privacy" names a table file by its .json
            raise OutputPathError(f"--table {table}: a privacy table is a .json file, which an instance's \"privacy\" "
                                  f"can name (fix: e.g. --table {table.with_suffix('.json')})")
        check_output_file(table, "--table")
        check_overwritable(table, (FORMAT,), "--table")


def train_target(args: argparse.Namespace) -> int:
    import torch

    from optdist.attacks import datasets, targets

    spec = targets.spec(args.cnn)
    paths = targets.weights_paths(args.cnn, args.weights_dir)
    make_output_folder(paths[0].parent, "--weights-dir")  # a file there: refused now, not after the training
    refuse_overwrite(list(paths), args.force, "--weights-dir DIR")
    torch.set_num_threads(args.threads)
    ds = datasets.load(args.data or spec.data, spec.input_shape)
    net, meta = targets.train(spec, ds, args.epochs, args.seed, args.samples, progress=not args.no_progress)
    meta["command"] = _command_line(args)
    path = targets.save(net, meta, args.cnn, args.weights_dir)
    print(
        f"{args.cnn}: test accuracy {meta['test_accuracy']:.4f} on {meta['test_samples']} {ds.name} images "
        f"({meta['epochs']} epochs, {meta['train_seconds']} s) -> {path}"
    )
    return 0
