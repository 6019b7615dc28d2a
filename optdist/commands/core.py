"""Core sub-commands: profile, validate, schema, generate, evaluate."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from optdist.cli import CliError, count_flag, missing_file_fix, number_flag, path_flag, read_number
from optdist.generate import MAX_NODES, MAX_REQUESTS
from optdist.instance import FORMAT as INSTANCE_FORMAT
from optdist.io import (atomic_write_json, check_not_an_input, check_output_file, check_overwritable, document_format, naming,
                        restore_non_finite)
from optdist.jsonfile import is_json_name, quoted, text_of
from optdist.names import MANY_NAMES_CUTOFF, closest
from optdist.options import number_problem
from optdist.profiles import FORMATS as PROFILE_FORMATS, MAX_REPEATS

log = logging.getLogger("optdist")
CATALOG_EXAMPLE = "examples/byon/mydevices.json"  # a device catalog in the repository, the --devices-catalog fixes' example


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "profile", help="print a CNN's layer profile (segments, mults, bytes), or profile your own torch module",
        description="Print the layer profile of a zoo CNN or a profile file, or trace your own torch module "
        "with torch.fx into a profile file: optdist profile --module pkg.mod:builder --input 3,32,32 "
        "--out mynet.profile.json (needs torch). Supported operations: see the README.",
    )
    p.add_argument("cnn", nargs="?", help="zoo CNN (micro, lenet, cifar, vgg16, vgg19) or a profile .json file")
    p.add_argument("--module", metavar="MOD:BUILDER", help="your network: pkg.mod:builder or file.py:builder, a "
                   "callable (function or class) returning a torch.nn.Module, or a module instance")
    p.add_argument("--input", metavar="C,H,W", help="input shape without the batch, e.g. 3,32,32 (with --module)")
    p.add_argument("--out", type=Path, action=path_flag("mynet.profile.json"),
                   help="write the profile file here (with --module)")
    p.add_argument("--name", help="the network's name in the file: letters, digits, _, - and ., at most 200 bytes (default: the builder's name)")
    p.add_argument("--measure", metavar="TYPE", help="also time each layer on this machine with torch and record the "
                   "seconds per segment under device type TYPE (e.g. rpi4; MODEL.md section 9: on nodes of that type "
                   "they replace c_k/e; compute capacity stays in multiplications)")
    p.add_argument("--repeats", action=count_flag("timed runs", 20, MAX_REPEATS),
                   metavar="N", help="timed runs per layer with --measure (median kept; default 20)")
    p.add_argument("--rebuild", action="store_true", help="re-derive a zoo profile from its PyTorch module (needs torch)")
    p.add_argument("--privacy", metavar="TABLE", help="also show Nf/split point from this table (e.g. paper, or a "
                   "table file for a profile file)")
    p.add_argument("--tau", action=number_flag("a tolerated SSIM in (0, 1]", "0.8", within=lambda v: 0 < v <= 1),
                   default=None,
                   help="tolerated SSIM for --privacy (default 0.8; only with --privacy)")
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("validate", help="check instance, privacy-table, profile and device-catalog files; report "
                       "every problem with its path and a fix",
                       epilog="exit status: 0 every file is valid, 1 a file has problems (listed), 2 bad arguments")
    p.add_argument("files", nargs="+", type=Path)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print (or write) the JSON Schema of instances, profiles, device catalogs or "
                       "privacy tables", description="Print (or write) the JSON Schema of a document kind. Assignment "
                       "and result files have none: they are read by hand, not by a schema model (optdist evaluate "
                       "checks them).")
    p.add_argument("--out", type=Path, action=path_flag("instances/schema.json"),
                   help="write it here (e.g. instances/schema.json)")
    p.add_argument("--kind", choices=["instance", "profile", "device-catalog", "privacy-table"], default="instance",
                   help="which document (default: instance)")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("generate", help="build an instance from a seed",
                       description="Build an instance from a seed; its \"description\" records the command (every "
                       "option, the seed included) that makes it again.")
    p.add_argument("--name", required=True)
    p.add_argument("--requests", required=True, help="CNN=count,... e.g. lenet=10 or lenet=60,cifar=60")
    p.add_argument("--devices", required=True, help="type=count,... e.g. nexus=20,rpi3=50")
    p.add_argument("--tau", action=number_flag("the tolerated SSIM as a number in (0, 1]", "0.8",
                                               within=lambda v: 0 < v <= 1), required=True)
    p.add_argument("--sources", action=count_flag("cameras", 10, MAX_NODES), default=None,
                   help="number of cameras (default 10, or one per request where there are fewer; at least one per CNN)")
    p.add_argument("--source-type", default="rpi3")
    p.add_argument("--period", action=number_flag("the period in seconds in [1e-06, 1e+06]", "1.0",
                                                  within=lambda v: 1e-6 <= v <= 1e6), default=1.0,
                   help="period_s for capacities (default 1)")
    p.add_argument("--privacy", default="paper", metavar="TABLE|CNN=TABLE,...",
                   help="privacy table for every CNN (default: paper; 'none': no privacy limit; a table file), or "
                   "one per CNN: lenet=paper,mynet=mynet.privacy.json (a bare TABLE among the pairs is for the CNNs "
                   "not named; default paper)")
    p.add_argument("--networks", metavar="NAME=FILE,...", help="your own networks: name=profile file, usable in "
                   "--requests (e.g. mynet=mynet.profile.json)")
    p.add_argument("--devices-catalog", type=Path, action=path_flag(CATALOG_EXAMPLE), metavar="FILE",
                   help="a device catalog file adding or "
                   "overriding device types (recorded in the instance)")
    p.add_argument("--seed", action=number_flag("an integer >= 0", "0", whole=True, within=lambda v: v >= 0),
                   default=0)  # numpy refuses a negative seed in its own words, naming no flag
    p.add_argument("--out", type=Path, action=path_flag("mine.json"), help="output file (default: print)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("devices", help="list the device catalog (bundled, or with your catalog file merged over it)")
    p.add_argument("--devices-catalog", type=Path, action=path_flag(CATALOG_EXAMPLE), metavar="FILE",
                   help="your catalog file (optdist-device-catalog/1)")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("evaluate", help="score an assignment or result file on an instance with the independent evaluator")
    p.add_argument("instance", type=Path)
    p.add_argument("assignment", type=Path, help="an assignment (optdist-assignment/1) or a result from `optdist solve --out` (a result of --method defended "
                   "is scored under the defence it chose, as its extra.defence records)")
    add_request_flags(p)
    p.set_defaults(func=cmd_evaluate)


def add_request_flags(p: argparse.ArgumentParser) -> None:
    """``--requests N`` and ``--stages IDS|all``: what ``evaluate`` and ``solve`` show of the requests
    (:func:`print_stage_breakdowns`)."""
    p.add_argument("--requests", action=number_flag("a whole number >= 0, the requests to show", "10", whole=True,
                                                    within=lambda v: v >= 0),
                   default=10, metavar="N",
                   help="show the latency of this many requests (default 10) and, unless 0, the stage "
                        "breakdown of the first placed one; 0: totals and violations only")
    p.add_argument("--stages", metavar="IDS|all",
                   help="show the stage breakdown of these requests instead: request ids joined by commas, e.g. "
                        "r5,r7 (in that order; any of the instance's requests, shown by --requests or not), or all; "
                        "an id the instance does not have is refused, naming its requests' range")


def warn_defence_ignored(path, inst, by: str) -> None:
    """Warn that instance file ``path``'s defence entry (if any) is ignored by ``by`` (e.g.
    "--method milp", "optdist export"): only ``--method defended`` chooses defences."""
    if inst.spec.defence:
        log.warning("%s: the instance's defence entry is used only by --method defended (ignored by %s)", path, by)


def stages_asked(inst, args: argparse.Namespace) -> list[int] | None:
    """The requests ``--stages`` names (indices, in its order), None without it; a request the
    instance does not have is a :class:`~optdist.cli.CliError` (exit 2) naming its range, raised
    before any solve or scoring."""
    from optdist.evaluate import stage_requests

    try:
        stages = getattr(args, "stages", None)  # commands without the flag: None
        return None if stages is None else stage_requests(inst, stages)
    except ValueError as e:
        raise CliError(f"--stages {args.stages}: {e}") from None


def _parse_counts(text: str, what: str) -> dict[str, int]:
    """``NAME=COUNT,...`` (the text of ``--requests`` or ``--devices``, ``what``) -> {name: count};
    ValueError, one line naming the flag with a fix and an example, for a part that is not
    NAME=COUNT, a count that is not a whole number in [0, top] (top: :data:`~optdist.generate.MAX_REQUESTS`
    per CNN, :data:`~optdist.generate.MAX_NODES` per device type), a repeated name, or no positive count."""
    flag, name = f"--{what}", "lenet" if what == "requests" else "rpi3"
    top = MAX_REQUESTS if what == "requests" else MAX_NODES
    out: dict[str, int] = {}
    for part in text.split(","):
        k, sep, v = part.partition("=")
        k = k.strip()
        if not sep or not k:
            raise ValueError(f"{flag} {text_of(part)} is not NAME=COUNT (fix: give NAME=COUNT pairs separated by commas, "
                             f"e.g. {flag} {name}=10)")
        n = read_number(v.strip(), whole=True)
        problem = number_problem(n, whole=True, within=lambda c: 0 <= c <= top)
        if problem:
            raise ValueError(f"{flag} {k}={v.strip()}: the count is {problem} (fix: give a whole number in "
                             f"[0, {top:,}], e.g. {flag} {k}=10)")
        if k in out:
            raise ValueError(f"{flag}: {k} is given twice (fix: give each name once, e.g. {flag} {k}={out[k] + int(n)})")
        out[k] = int(n)
    if not any(out.values()):
        raise ValueError(f"{flag} {text_of(text)} has no positive count (fix: give at least one, e.g. {flag} {name}=10)")
    return out


def _parse_shape(text: str) -> tuple[int, ...]:
    """``C,H,W`` (or fewer dimensions) of ``--input`` -> a tuple of whole numbers >= 1; ValueError
    with the fix otherwise."""
    shape = tuple(read_number(x.strip(), whole=True) for x in text.split(","))
    if not 1 <= len(shape) <= 3 or any(number_problem(d, whole=True, within=lambda n: n >= 1) for d in shape):
        raise ValueError(f"--input {text_of(text)} is not a shape (fix: give C,H,W as whole numbers >= 1, e.g. --input 3,32,32)")
    return tuple(int(d) for d in shape)


def _table_network(profile_cnn: str, ref: str) -> str:
    """The network a ``--privacy`` table file names, for a profile file whose own name is ``profile_cnn``.

    As in an instance (README, "Instances naming networks"), the table's ``"cnn"`` is the profile's
    name or the network's name in an instance's ``"networks"`` (checked against the profile's
    layers by :func:`optdist.privacy.resolve_table`); a zoo CNN's name is neither. Raises
    ValueError naming the fix for a zoo CNN's table.
    """
    from optdist.privacy import PrivacyTable
    from optdist.profiles import available_cnns

    if not (is_json_name(ref) and Path(ref).is_file()):
        return profile_cnn  # a bundled table name, or a missing file: resolve_table says what it looked at
    named = PrivacyTable.load(ref).cnn
    if named != profile_cnn and named in available_cnns():
        raise ValueError(f"{ref}: privacy table is for the zoo CNN {text_of(named)}, not the profile file's {text_of(profile_cnn)} "
                         f"(fix: set its \"cnn\" to {text_of(profile_cnn)} or to the network's name in your instance's "
                         f"\"networks\")")
    return named


def cmd_profile(args: argparse.Namespace) -> int:
    from optdist.profiles import load_profile, load_profile_file

    if args.name is not None and not args.name.strip():
        raise ValueError(f"--name {text_of(args.name)}: the network needs a name (fix: give one, e.g. --name mynet, or "
                         "leave --name out for the builder's name)")
    if args.tau is not None and not args.privacy:
        raise ValueError(f"--tau {args.tau:g} goes with --privacy TABLE (the tolerated SSIM at which the table's split "
                         "point is shown; fix: add --privacy, e.g. --privacy paper, or drop --tau)")
    args.tau = 0.8 if args.tau is None else args.tau
    if args.module:
        if not (args.input and args.out) or args.cnn or args.rebuild or args.privacy:
            raise ValueError("--module needs --input C,H,W and --out FILE (and no CNN name, --rebuild or --privacy)")
        if args.measure is not None and not args.measure.strip():
            raise ValueError("--measure needs a device type name, e.g. --measure rpi4")
        if args.repeats is not None and args.measure is None:
            raise ValueError("--repeats goes with --measure TYPE (the timed runs per layer); add --measure or drop it")
        args.repeats = 20 if args.repeats is None else args.repeats
        try:
            from optdist.tracing import profile_builder
        except ImportError as e:
            raise ValueError(f"--module needs torch ({e}): pip install 'optdist[learn]'") from None
        from optdist.profiles import write_profile_file

        check_output_file(args.out, example="mynet.profile.json")
        check_overwritable(args.out, PROFILE_FORMATS)  # before the tracing: an instance given by mistake is kept
        prof = profile_builder(args.module, _parse_shape(args.input), args.name, args.measure, args.repeats)
        check_not_an_input(args.out, [_module_file(args.module.rsplit(":", 1)[0])])
        with naming("--out"):
            write_profile_file(prof, args.out, force=True)  # --out checked above
        print(f"wrote {args.out}")
    elif args.input or args.out or args.name or args.measure or args.repeats is not None:
        raise ValueError("--input, --out, --name, --measure and --repeats go with --module pkg.mod:builder")
    elif args.cnn is None:
        raise ValueError("name a zoo CNN or a profile file, or profile your module with --module ... --input ... --out ...")
    elif is_json_name(args.cnn):
        if args.rebuild:
            raise ValueError("--rebuild applies to zoo CNNs; re-profile your module with --module")
        prof = load_profile_file(args.cnn)
    elif args.rebuild:
        from optdist.profiling import write_profile

        prof = write_profile(args.cnn)
        load_profile.cache_clear()
    else:
        prof = load_profile(args.cnn)
    lim, note = None, None
    if args.privacy:  # resolved before anything is printed: a refused table prints only the error
        from optdist.privacy import (deeper_row_warnings, limits_for, output_row_warnings, privacy_limits,
                                     resolve_table, rounding_warnings)

        if is_json_name(args.cnn):  # a profile file: its table is a file naming the network
            name = _table_network(prof.cnn, args.privacy)
            table = resolve_table(name, args.privacy, None, prof)
            lim = privacy_limits(prof, table, args.tau)
            if name != prof.cnn:
                note = (f"# the table names the network {text_of(name)}, this profile file {text_of(prof.cnn)}: an instance takes "
                        f"it for the network it names {text_of(name)} in \"networks\"")
        else:
            try:
                lim = limits_for(args.cnn, args.privacy, args.tau)
            except FileNotFoundError as e:  # a name: not "check the path, e.g. `ls`"
                if is_json_name(args.privacy):
                    raise
                raise CliError(f"--privacy {text_of(args.privacy)}: {e} (fix: give a bundled table's name, e.g. "
                               "--privacy paper, or a table file, a path ending in .json)") from None
            table = resolve_table(args.cnn, args.privacy)
        for w in [*rounding_warnings(table, args.tau, args.privacy),  # a measured leak above tau read as passing
                  *deeper_row_warnings(table, prof, args.privacy),  # shallow layers read by a deeper row
                  *output_row_warnings(table, prof, args.privacy, args.tau)]:  # an elementwise layer's stricter own row
            log.warning("%s", w)
    print(f"# {prof.cnn}: {prof.n_layers} layers, {prof.n_segments} segments, input {prof.input_shape}")
    print(f"# total multiplications {sum(la.total_mults for la in prof.layers):,}, weights {sum(la.total_weight_bytes for la in prof.layers):,} B")
    for t, m in prof.measured:
        print(f"# measured on {t}: {m.machine}, torch {m.torch}, median of {m.repeats} runs, {m.date}")
    if lim is not None:
        if note:
            print(note)
        df = prof.table().merge(lim.table(prof)[["layer", "governed by", "Nf", "device cap", "on source"]], on="layer")
        sp = prof.layers[lim.split_point].name if lim.split_point < prof.n_layers else "none (never)"
        print(f"# privacy table {args.privacy} at tau {args.tau}: split point {sp}")
    else:
        df = prof.table()
    print(df.to_markdown(index=False))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from optdist.devices import DeviceCatalogError, device_catalog
    from optdist.instance import InstanceError, load_instance
    from optdist.jsonfile import DocumentError, Problem
    from optdist.privacy import PrivacyTableError, is_table_file, privacy_warnings, validate_table_file
    from optdist.profiles import ProfileFileError, available_cnns, is_profile_file, load_profile_file

    given = {}  # your networks' profile files given here, by name: a table of that network is checked against one
    given_by = {}  # the file each came from
    tabled = set()  # the networks of the tables given here
    for f in args.files:
        try:
            if is_profile_file(f):
                prof = load_profile_file(f)
                if prof.cnn not in given:
                    given[prof.cnn], given_by[prof.cnn] = prof, f
            elif is_table_file(f):
                cnn = json.loads(Path(f).read_text(encoding="utf-8")).get("cnn")
                if isinstance(cnn, str):  # another type: the table's own check says so below
                    tabled.add(cnn)
        except (ProfileFileError, DocumentError, OSError, ValueError, AttributeError):
            pass  # reported in its turn below
    bad = 0
    for f in args.files:
        try:
            shape = _not_an_object(f)
            if shape is not None:  # a list or a number: no "format" says its kind, so it is read as no kind
                raise DocumentError(str(f), [shape])
            if is_profile_file(f):
                prof = load_profile_file(f)
                first = given.get(prof.cnn, prof)
                if prof.cnn in tabled and (first.layers, first.graph) != (prof.layers, prof.graph):  # checked against which?
                    raise ProfileFileError(str(f), [Problem(
                        "cnn", f"{text_of(prof.cnn)} is the network of {given_by[prof.cnn]} too, given here before "
                        f"with other layers: a privacy table of {text_of(prof.cnn)} is checked against that one",
                        f"give one profile file of {text_of(prof.cnn)}, or name this network otherwise "
                        f"(\"cnn\"; `optdist profile --name`)")])
                warnings = []
                print(f"{f}: ok (profile {prof.cnn}, {prof.n_layers} layers, {prof.n_segments} segments, "
                      f"{prof.total_mults:,} multiplications"
                      + "".join(f", measured times for {t}" for t, _ in prof.measured) + ")")
            elif _declares(f, "optdist-device-catalog"):
                cat = device_catalog(f)
                warnings = []
                print(f"{f}: ok (device catalog; {len(cat)} types with the bundled ones)")
            elif is_table_file(f):
                table, warnings = validate_table_file(f, given)
                print(f"{f}: ok (privacy table {table.cnn}-{table.name}, {len(table.rows)} rows)")
                if table.cnn not in given and table.cnn not in available_cnns():
                    others = f" (the profiles given are of {quoted(sorted(given))})" if given else ""
                    zoo = closest(table.cnn, available_cnns(), ignore_case=True, cutoff=MANY_NAMES_CUTOFF)  # "LeNet": lenet refuses it
                    hint = f"set \"cnn\": {text_of(zoo)} if the table is the zoo CNN's; else " if zoo else ""
                    print(f"  note: its rows are not checked against the layers of {text_of(table.cnn)}: no zoo CNN, "
                          f"and no profile file whose \"cnn\" is {text_of(table.cnn)} is given here{others} (fix: {hint}give "
                          f"that profile file too, `optdist validate {f} {table.cnn}.profile.json`, or validate the "
                          "instance that names the table)")
            else:
                inst = load_instance(f)
                warnings = privacy_warnings(inst) + inst.measured_warnings()
                print(f"{f}: ok ({inst.n_devices} devices, {inst.n_nodes - inst.n_devices} sources, {inst.n_requests} requests, tau {inst.spec.tau})")
        except (InstanceError, PrivacyTableError, ProfileFileError, DeviceCatalogError, DocumentError) as e:
            bad += 1
            print(f"{f}: INVALID, {len(e.problems)} problem(s)")
            for p in e.problems:
                print(f"  {p.path}: {p.message}\n      fix: {p.fix}")
            if e.note:
                print(f"  note: {e.note}")
            hint = _other_kind(f) if isinstance(e, InstanceError) else None
            if hint:
                print(f"  note: read as an instance (no known \"format\"), but {hint}")
            continue
        except FileNotFoundError as e:
            bad += 1
            print(f"{f}: INVALID, no such file\n      fix: {missing_file_fix(e, f'{f}: instance file not found')}")
            continue
        for w in warnings:
            print(f"  warning: {w}")
    return 1 if bad else 0


def _other_kind(path: Path) -> str | None:
    """What ``path`` looks like when it is no instance: another document kind by its shape, or None."""
    from optdist.jsonfile import MiB, DocumentError, read_json
    from optdist.privacy import FORMAT as TABLE_FORMAT
    from optdist.profiles import FORMAT as PROFILE_FORMAT

    try:
        doc = read_json(path, 16 * MiB)
    except (OSError, DocumentError):
        return None
    if not isinstance(doc, dict):
        return None
    if "format" not in doc and "rows" in doc:
        return f'it looks like a privacy table (it has "rows"): add "format": "{TABLE_FORMAT}"'
    if "format" not in doc and "layers" in doc:
        return f'it looks like a profile (it has "layers"): add "format": "{PROFILE_FORMAT}"'
    return None


def _not_an_object(path: Path):
    """The problem of a file that is JSON but no object (a list, a number, a string), else None:
    :func:`optdist.jsonfile.not_an_object` of a document of no known kind (no ``format`` says it),
    named by the file's name (``mytable.json`` -> a privacy table)."""
    from optdist.jsonfile import MiB, DocumentError, not_an_object, read_json

    try:
        doc = read_json(path, 16 * MiB)
    except (OSError, DocumentError):
        return None  # each kind's reader reports it with its own words
    return None if isinstance(doc, dict) else not_an_object(doc, file_name=path.name)


def _declares(path: Path, fmt: str) -> bool:
    """Whether ``path`` is a small JSON object whose ``format`` starts with ``fmt``."""
    from optdist.jsonfile import MiB, DocumentError, read_json

    try:
        doc = read_json(path, 16 * MiB)
    except (OSError, DocumentError):
        return False
    return isinstance(doc, dict) and str(doc.get("format", "")).startswith(fmt)


def cmd_devices(args: argparse.Namespace) -> int:
    import pandas as pd

    from optdist.devices import device_catalog

    cat = device_catalog(args.devices_catalog)
    rows = [{"type": t, "label": d["label"], "memory (MiB)": d["memory"] / 2**20, "mults/s": d["mults_per_s"],
             "rate (B/s)": d["rate"], "source": d["source"]} for t, d in sorted(cat.items())]
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".6g"))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from optdist.instance import json_schema

    if args.out:
        check_output_file(args.out, example=f"{args.kind}.schema.json")
        fmt = document_format(args.out) if args.out.is_file() else None  # a schema has no "format"
        if fmt is not None:  # an instance, profile, table or catalog given by mistake
            raise CliError(f"--out {args.out}: exists and is a document of format {text_of(fmt)}, not a JSON Schema: "
                           f"writing would replace it (fix: give another --out, e.g. --out {args.kind}.schema.json)")
        with naming("--out"):
            atomic_write_json(args.out, json_schema(args.kind), indent=2)
        print(f"wrote {args.out}")
    else:
        json.dump(json_schema(args.kind), sys.stdout, indent=2)
        print()
    return 0


def _module_file(module: str) -> Path:
    """The source file of ``module`` (``file.py`` or an importable ``pkg.mod``, already imported)."""
    if module.endswith(".py"):
        return Path(module)
    mod = sys.modules.get(module)
    return Path(getattr(mod, "__file__", None) or module)


def _parse_privacy(text: str, rel) -> str | dict[str, str | None] | None:
    """``--privacy``: one table for every CNN (``paper``, a table file, ``none``), or ``CNN=TABLE`` pairs
    (``lenet=paper,mynet=mynet.privacy.json``) with at most one bare table for the CNNs not named
    (default ``paper``). Returns what :func:`optdist.generate.generate` takes as ``privacy``, the
    ``.json`` files relative to the instance (``rel``); ValueError naming the fix."""

    def one(v: str) -> str | None:
        v = v.strip()
        if not v:
            raise ValueError(f"--privacy {text_of(text)}: a table is empty (fix: give a table name, a table file or "
                             "none, e.g. --privacy paper or --privacy lenet=paper,mynet=mynet.privacy.json)")
        return None if v == "none" else rel(v) if is_json_name(v) else v

    if "=" not in text:
        return one(text)
    out: dict[str, str | None] = {}
    rest: list[str] = []
    for part in text.split(","):
        k, sep, v = part.partition("=")
        if not sep:
            rest.append(part)
            continue
        if not k.strip():
            raise ValueError(f"--privacy {text_of(part)} names no CNN (fix: give CNN=TABLE pairs, e.g. "
                             "--privacy lenet=paper,mynet=mynet.privacy.json)")
        if k.strip() in out:
            raise ValueError(f"--privacy: {k.strip()} is given twice (fix: give each CNN once)")
        out[k.strip()] = one(v)
    if len(rest) > 1:
        raise ValueError(f"--privacy {text_of(text)} gives {len(rest)} tables without a CNN (fix: give at most one, the "
                         "table of the CNNs not named, e.g. --privacy paper,mynet=mynet.privacy.json)")
    out["*"] = one(rest[0]) if rest else "paper"
    return out


def _check_table_names(text: str, privacy: dict[str, str | None], where: Path) -> None:
    """Raise ValueError naming ``--privacy`` (its value ``text``), the table name, what is accepted and
    the fix where a table name in ``privacy`` (the generated instance's, CNN -> table) is no
    bundled table of its CNN (before, the error named the instance file made from it, as if the
    user had written that file). A table file (relative to ``where``, the instance's folder) that
    is missing, or, for a zoo CNN, no valid table of that CNN (for a user's network: no privacy table,
    e.g. its profile), is named so too (break39: it was named as a problem of the --out file, its path
    rewritten relative to it, the fix in JSON terms)."""
    from optdist.jsonfile import DocumentError
    from optdist.privacy import PrivacyTable, bundled_tables, resolve_table
    from optdist.profiles import available_cnns

    for cnn, ref in privacy.items():
        if ref is None:
            continue
        if is_json_name(ref):
            path = Path(os.path.normpath(where / ref))  # the file as the user named it, made absolute
            try:
                if not path.is_file():
                    raise FileNotFoundError(f"{path} is not a file" if path.exists() else f"{path} does not exist")
                if cnn in available_cnns():
                    resolve_table(cnn, str(path))
                else:  # a table at all (a profile given for it, :data:`~optdist.jsonfile.PROFILE_AS_TABLE_FIX`);
                    PrivacyTable.load(path)  # checked against the network's profile later
            except (OSError, ValueError) as e:
                why = " ".join(str(e).rsplit(" (fix: ", 1)[0].split())
                names = bundled_tables(cnn)
                bundled = f"or give a bundled name, e.g. --privacy {cnn}={names[0]}, " if names else ""
                fix = f"correct the path, {bundled}or --privacy {cnn}=none"
                if isinstance(e, DocumentError) and [p.path for p in e.problems] == ["format"]:
                    fix = f"{e.problems[0].fix}; or --privacy {cnn}=none"  # another kind of file: not its path
                raise ValueError(f"--privacy {text_of(text)}: the table file for {cnn}: {why}; accepted: a bundled "
                                 "table name, none (no privacy limit) or a privacy-table file (a path ending in .json, "
                                 "relative to the current folder, written by `optdist calibrate`), for every CNN or per "
                                 f"CNN as CNN=TABLE,... (fix: {fix})") from None
            continue
        try:
            resolve_table(cnn, ref)
        except FileNotFoundError as e:
            fix = ("give one of those, e.g. a bundled name listed here" if cnn in available_cnns() else
                   f"your network has no bundled tables (--privacy defaults to paper): give its table file, e.g. "
                   f"--privacy {cnn}={cnn}-privacy.json (`optdist calibrate --module` writes one)")
            raise ValueError(f"--privacy {text_of(text)}: {e}; accepted: a bundled table name, none (no privacy "
                             "limit) or a table file (a path ending in .json), for every CNN or per CNN as "
                             f"CNN=TABLE,... (fix: {fix}, or --privacy {cnn}=none)") from None


def _generate_command(args: argparse.Namespace) -> str:
    """The ``optdist generate`` command line that makes this instance again (every option spelt out)."""
    parts = ["optdist", "generate", "--name", args.name, "--requests", args.requests, "--devices", args.devices,
             "--tau", repr(args.tau), "--sources", str(args.sources), "--source-type", args.source_type,
             "--period", repr(args.period), "--privacy", args.privacy, "--seed", str(int(args.seed))]
    if args.networks:
        parts += ["--networks", args.networks]
    if args.devices_catalog:
        parts += ["--devices-catalog", str(args.devices_catalog)]
    return shlex.join(parts)


def cmd_generate(args: argparse.Namespace) -> int:
    from optdist.generate import generate
    from optdist.instance import parse

    given_sources, args.sources = args.sources, 10 if args.sources is None else args.sources
    if not args.name.strip():
        raise ValueError(f"--name {text_of(args.name)}: the instance needs a name (it names the instance and the "
                         "files made from it; fix: give one, e.g. --name lenet-10)")
    if args.out:
        check_output_file(args.out, example="instance.json")
        check_overwritable(args.out, (INSTANCE_FORMAT,))  # an instance is replaced, a profile or table is not
    where = (args.out.parent if args.out else Path(".")).resolve()
    rel = lambda f: os.path.relpath(Path(f).resolve(), where)  # noqa: E731 - paths relative to the instance
    networks = {}
    for part in (args.networks or "").split(",") if args.networks else []:
        if "=" not in part:
            raise ValueError(f"--networks: {text_of(part)} is not NAME=FILE (e.g. mynet=mynet.profile.json)")
        k, v = part.split("=", 1)
        if k.strip() in networks:
            raise ValueError(f"--networks: {k.strip()} is given twice (fix: give each network name once)")
        networks[k.strip()] = rel(v.strip())
    requests = _parse_counts(args.requests, "requests")
    privacy = _parse_privacy(args.privacy, rel)
    if isinstance(privacy, dict):
        default = privacy.pop("*")
        unknown = sorted(set(privacy) - set(requests))
        if unknown:
            close = closest(unknown[0], requests, ignore_case=True, cutoff=MANY_NAMES_CUTOFF)  # LeNet=paper for lenet
            hint = f"did you mean {text_of(close)}? " if close else ""
            raise ValueError(f"--privacy names {text_of(unknown[0])}, which --requests does not (fix: {hint}give tables "
                             f"for the CNNs of --requests: {', '.join(requests)})")
        privacy = {c: privacy.get(c, default) for c in requests}
    doc = generate(
        args.name,
        requests,
        _parse_counts(args.devices, "devices"),
        args.tau,
        sources=args.sources,
        source_type=args.source_type,
        period_s=args.period,
        privacy=privacy,
        seed=args.seed,
        description=f"made by `{_generate_command(args)}` (seed {int(args.seed)})",
        networks=networks,
        devices_catalog=rel(args.devices_catalog) if args.devices_catalog else None,
        base=where,
    )
    _check_table_names(args.privacy, doc["privacy"], where)
    # validate before writing, paths relative to the output; errors name the --out file (or the generated document)
    parse(doc, args.name, args.out or Path("(generated instance)"))
    used = {c for c, n in requests.items() if n > 0}
    for k in networks:
        if k not in used:
            log.warning("--networks %s: no request uses it, so the instance leaves it out (fix: add it to --requests, "
                        "e.g. --requests %s=10, or drop it from --networks)", k, k)
    made = len(doc["sources"])
    if given_sources is not None and made != args.sources:
        why = (f"there are only {sum(requests.values())} requests (a camera serves at least one)" if made < args.sources
               else f"each of the {len(used)} CNNs needs a camera of its own")
        fix = f"--sources {made}, or more requests" if made < args.sources else f"--sources {made} or more"
        log.warning("--sources %d: the instance has %d sources, as %s (fix: give %s)", args.sources, made, why, fix)
    if args.out:
        inputs = [where / f for f in [*networks.values(), doc.get("devices_catalog")] if f]
        inputs += [where / v for v in doc["privacy"].values() if isinstance(v, str) and is_json_name(v)]
        check_not_an_input(args.out, inputs)
        with naming("--out"):
            atomic_write_json(args.out, doc)
        print(f"wrote {args.out}: {len(doc['requests'])} requests, {len(doc['devices'])} devices")
    else:
        print(json.dumps(doc, indent=1))
    return 0


def print_evaluation(inst, ev, show_requests: int = 10,
                     all_in: str = "optdist.evaluate.evaluate(instance, assignment).violations (Python)") -> None:
    """Print an evaluation: totals, per-request latency, node use, violations (a few of each kind;
    ``all_in`` says where the whole list is: :func:`optdist.evaluate.violation_lines`)."""
    import pandas as pd

    from optdist.evaluate import violation_lines

    s = ev.summary(inst)
    print(f"objective        {s['objective']:.9g}")
    print(f"total latency    {s['total_latency_s']:.9g} s   makespan {s['makespan_s']:.6g} s")
    print(f"shared data      {s['shared_bytes']:,.0f} B   rejected {s['rejected']}   feasible {s['feasible']}")
    rows = [
        {"request": inst.request_ids[r], "cnn": inst.request_cnn[r], "latency_s": ev.latency[r], "shared_B": ev.shared_bytes[r]}
        for r in range(min(show_requests, inst.n_requests))
    ]
    if rows:  # --requests 0: no table (an empty one printed a blank line)
        print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".6g"))
    if inst.n_requests > show_requests:
        more = inst.n_requests - show_requests
        print(f"... {more} more request{'s' if more != 1 else ''}")
    for line in violation_lines(inst, ev.violations, all_in):
        print(line)


def read_placement(path: Path) -> Any:
    """The JSON document in ``path``, an assignment or a result file (:func:`load_placement` reads
    it), read once; its non-finite numbers restored. ValueError (AssignmentError) names the file."""
    from optdist.assignment import MAX_BYTES, AssignmentError
    from optdist.jsonfile import read_json

    # a result file holds the assignment plus its evaluation: allow it twice the assignment's size
    return restore_non_finite(read_json(path, 2 * MAX_BYTES, AssignmentError, "assignment or result"), str(path))


def load_placement(inst, path: Path, use: str | None = None, doc: Any = None):
    """The assignment in ``path``: an ``optdist-assignment/1`` file, or the ``assignment`` of an
    ``optdist-result/1`` file (what ``optdist solve --out`` writes). ValueError names the file.
    One made for another instance, or another version of ``inst`` (an ``instance`` or
    ``instance_digest`` field: the assignment's, or a result file's own;
    :func:`optdist.assignment.made_for_warning`), whose ids match is warned about, once per
    instance named: ``use`` says what it is taken as (default: scored on ``inst``). A result file's own ``instance`` that is neither a string nor
    null is refused, as the assignment's is (:class:`~optdist.assignment.AssignmentError` naming
    the file and the field), and so is a result file of another format version ('optdist-result/N'), which
    would otherwise be read as an assignment with the wrong fix. ``doc``: the file's document where
    the caller has read it already (:func:`read_placement`), else it is read here."""
    from optdist.assignment import Assignment, AssignmentError, check_instance_field, made_for_warning

    if doc is None:
        doc = read_placement(path)
    where = str(path)
    use = use or f"scored on {inst.name}"
    warnings: list[str] = []
    said = False  # the placement's own fields warned about already (a result file's, naming the same)
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if isinstance(fmt, str) and fmt.startswith("optdist-result/") and fmt != "optdist-result/1":
        from optdist.jsonfile import Problem  # read as an assignment, it was told to become one: the wrong fix

        raise AssignmentError(where, [Problem("format", f"is {text_of(fmt)}, a result format this optdist does not read "
                                              '(it reads "optdist-result/1")', "write it again with this optdist's "
                                              "`optdist solve --out`, or give an optdist-assignment/1 file")])
    if fmt == "optdist-result/1":
        check_instance_field(doc, inst, where, "result")
        if warning := made_for_warning(where, doc, inst, use):
            warnings.append(warning)
        if doc.get("assignment") is None:
            raise ValueError(f"{path}: field \"assignment\": this result has no assignment (termination "
                             f"{doc.get('termination')}), so nothing can be {use} (fix: give "
                             "a result of a run that found a placement, or an assignment file)")
        if not isinstance(doc["assignment"], dict):
            raise ValueError(f"{path}: field \"assignment\" must be an optdist-assignment/1 object")
        named = (doc.get("instance"), doc.get("instance_digest"))
        doc, where = doc["assignment"], f"{path}: assignment"
        said = (doc.get("instance"), doc.get("instance_digest")) == named  # the same instance named twice: warned once
    asg = Assignment.from_json(inst, doc, where)
    if not said and (warning := made_for_warning(where, doc, inst, use)):  # ids that match are no proof that it is the same problem
        warnings.append(warning)
    for warning in warnings:
        log.warning("%s", warning)
    return asg


def _format_of(path: Path) -> object:
    """The ``format`` field of the JSON document at ``path``, or None where it cannot be read."""
    from optdist.jsonfile import MiB, read_json

    try:
        doc = read_json(path, 256 * MiB)
    except (OSError, ValueError):
        return None
    return doc.get("format") if isinstance(doc, dict) else None


def _check_not_swapped(instance: Path, assignment: Path) -> None:
    """Raise a ValueError saying to swap the arguments of ``optdist evaluate INSTANCE ASSIGNMENT``
    where the first is a placement (an assignment or a solve result) and the second an instance."""
    from optdist.assignment import FORMAT as ASSIGNMENT_FORMAT
    from optdist.instance import FORMAT as INSTANCE_FORMAT
    first = _format_of(instance)
    if first in (ASSIGNMENT_FORMAT, "optdist-result/1") and _format_of(assignment) == INSTANCE_FORMAT:
        raise ValueError(f"{instance}: is a placement (format {text_of(first)}) and {assignment} an instance (format "
                         f"{text_of(INSTANCE_FORMAT)}): the arguments are swapped (fix: give the instance first: "
                         f"`{shlex.join(['optdist', 'evaluate', str(assignment), str(instance)])}`)")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from optdist.evaluate import evaluate
    from optdist.instance import load_instance

    try:
        inst = load_instance(args.instance)
    except ValueError:
        _check_not_swapped(args.instance, args.assignment)
        raise
    doc = read_placement(args.assignment)  # read once: the placement, and the defence a defended result chose
    asg = load_placement(inst, args.assignment, doc=doc)
    picked = stages_asked(inst, args)  # refused before the scoring
    inst = _defended_or_not(inst, args.assignment, doc)
    ev = evaluate(inst, asg)
    print_evaluation(inst, ev, args.requests)
    print_stage_breakdowns(inst, ev, args.requests, picked)
    return 0 if ev.feasible else 1


def _defended_or_not(inst, path: Path, doc: Any):
    """The instance a placement in ``path`` (its document ``doc``, as :func:`read_placement` read
    it) is scored on: for a result of ``--method defended``,
    the defended instance of the defence it chose (its ``extra``, :func:`optdist.defences.placement.
    rescored_instance`; said on stdout: the instance's own limits flagged its placement as
    infeasible); else ``inst``, with a warning where ``inst`` has a ``defence`` entry (an
    assignment does not say which defence protects it)."""
    if isinstance(doc, dict) and doc.get("format") == "optdist-result/1" and doc.get("method") == "defended":
        from optdist.defences.placement import defences_text, distribution_alone, rescored_instance

        if not inst.spec.defence:
            if distribution_alone(doc.get("extra")):  # what defended chooses without an entry: nothing is ignored
                return inst
            print(f"the defence recorded in {path} is ignored: {inst.name} has no defence entry, so it is scored under "
                  f"its plain limits (fix: evaluate on the instance the result was solved on, or re-solve "
                  f"`optdist solve {_inst_path(inst)} --method defended --out RESULT`)")
            return inst
        defended = rescored_instance(inst, doc.get("extra"), str(path))
        print(f"scored under the defence {defences_text(doc['extra']['defence'], len(inst.limits))} "
              f"(the limits and capacities of {path}'s extra.defence; not {inst.name}'s undefended limits)")
        return defended
    if inst.spec.defence:
        log.warning("%s: scored under %s's undefended limits: %s records no defence (only a result of `optdist solve "
                    "--method defended --out RESULT` does; fix: evaluate that result file to score the placement under "
                    "the defence it chose)", path, inst.name, path)
    return inst


def _inst_path(inst) -> str:
    return str(inst.path) if inst.path else inst.name


def print_stage_breakdowns(inst, ev, shown: int, picked: list[int] | None) -> None:
    """The stage breakdowns ``evaluate`` and ``solve`` print: those of ``picked`` (``--stages``, also
    with ``--requests 0``), else, unless ``shown`` (``--requests``) is 0, the first placed request's
    and a line naming ``--stages`` for the others."""
    if picked is not None:
        for r in picked:
            print_stages(inst, ev, r)
    elif inst.n_requests and shown:
        first = next((r for r in range(inst.n_requests) if ev.stage_time[r] is not None), None)
        if first is not None:
            print_stages(inst, ev, first)
            others = [inst.request_ids[r] for r in range(first + 1, inst.n_requests)
                      if ev.stage_time[r] is not None][:2]  # placed ones: a rejected request has no stages
            if others:
                print(f"(other requests' stages: --stages {','.join(others)} or --stages all)")


def print_stages(inst, ev, r: int) -> None:
    """The stage breakdown of request r (:meth:`optdist.evaluate.Evaluation.breakdown`, seconds) under
    ``stages of <id> (...):``; one line for a rejected request, which has no stages."""
    if ev.stage_time[r] is None:
        print(f"\nstages of {inst.request_ids[r]}: none (rejected)")
        return
    print(f"\nstages of {inst.request_ids[r]} (s; compute and transfer of the slowest owner):")
    print(ev.breakdown(inst, r).to_markdown(index=False, floatfmt=".6g"))
