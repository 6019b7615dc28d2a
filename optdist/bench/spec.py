"""Sweep specifications (TOML or JSON) and the grid of runs they expand to.

A spec names instance globs, methods, solvers, formulations, seeds, a per-run ``time_limit``
and ``threads``, and options. The grid is ``instances x methods x solvers x formulations x
seeds``. Which method gets what is explicit (methods reject options they do not know):

* ``solver_methods`` (default ``["milp"]``) get the solver and formulation axes, ``time_limit``,
  ``threads`` and the spec's ``options``;
* ``seeded_methods`` (default ``["rl"]``) get the seeds axis as ``seed=`` (a spec without
  ``seeds`` passes none; ``seeds = []`` or a lone number is refused);
* ``method_options.NAME`` is passed to method NAME only.

An option an axis gives a method (``solver``, ``formulation``, ``seed``) may not be given to it
again in ``options`` or ``method_options`` (it would replace the axis's value in records
labelled by the axis). A registered method's option values are type-checked when the spec is
read, against the types the methods declare (:data:`optdist.solve.OPTION_TYPES`): e.g.
``policy = 5`` for ``rl`` is refused, naming the file, the field and an example; so is a plan
method's seconds out of the range the library takes (``polish_time_limit = -1``,
``plan_time_limit = 0``, nan or inf: :func:`optdist.heuristics.plan_guided.seconds_in_range`).

Every run has a key, ``<instance>--<method>[--<solver>][--<formulation>][--s<seed>]--<hash>``,
where ``hash`` is the first 8 hex digits of SHA-1 over the run's canonical JSON (instance,
instance path, method, solver, formulation, seed and every option), so changing an option
gives a new run and two instances with the same file name in different folders get two keys.
Records written before the path entered the hash (:attr:`Run.legacy_key`) stay readable, and
the runner renames them to the new key when it meets them.

Methods come from the registry, :data:`optdist.solve.METHODS`. A ``module:function`` in an
``optdist.*`` module is code shipped with optdist and runs like a registered name; any other
``module:function`` runs only when the caller allows external methods
(``optdist bench --allow-external-methods``, ``run_sweep(..., allow_external=True)``).
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import re
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Any

from optdist.io import restore_non_finite
from optdist.jsonfile import MiB, is_json_name, quoted, read_json, text_of, value_text
from optdist.names import closest
from optdist.options import OPTION_EXAMPLES, WHOLE_OPTIONS, is_whole

#: the names of optdist.bench.figures.FIGURES (not imported here: it loads matplotlib; a test keeps them equal)
FIGURES = ("tau", "greedy-rl", "devices", "mix", "optimum-rl", "scaling", "convergence")


@dataclass(frozen=True)
class Run:
    """One cell of the grid: ``optdist.solve(instance_path, method, **options)``."""

    instance: str  # instance file stem (= its name in bundled sets)
    instance_path: str  # as resolved from the spec (relative to the working directory)
    method: str  # a name in optdist.solve.METHODS, or "module:function"
    solver: str | None = None
    formulation: str | None = None
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # includes time_limit, threads

    @property
    def key(self) -> str:
        """``<readable name>--<hash>``, the hash over every field (instance path included)."""
        return self._key(asdict(self))

    @property
    def legacy_key(self) -> str:
        """The key before issue 12: its hash left the instance path out, so two instances
        with the same file name in different folders shared it."""
        return self._key({k: v for k, v in asdict(self).items() if k != "instance_path"})

    def _key(self, hashed: dict) -> str:
        parts = [self.instance, self.method, self.solver, self.formulation]
        parts += [None if self.seed is None else f"s{self.seed}"]
        name = "--".join(_safe(p) for p in parts if p is not None)
        blob = json.dumps(hashed, sort_keys=True)
        return f"{name}--{hashlib.sha1(blob.encode()).hexdigest()[:8]}"

    def solve_options(self) -> dict[str, Any]:
        """Keyword options for the method: the grid axes that are set plus ``options``."""
        axes = {"solver": self.solver, "formulation": self.formulation, "seed": self.seed}
        return {**{k: v for k, v in axes.items() if v is not None}, **self.options}

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Run:
        return cls(**data)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text))


def in_cwd(path: str) -> str:
    """' in CWD' (the current folder) where ``path`` (a spec's pattern or file) is relative, so read from
    it; '' where it is absolute: naming the current folder then misled (left44b, vbreak44)."""
    return "" if os.path.isabs(path) else f" in {os.getcwd()}"


@dataclass(frozen=True)
class BenchSpec:
    """A parsed spec file; see the module docstring and ``benchmarks/specs/*.toml``."""

    name: str
    instances: tuple[str, ...]
    methods: tuple[str, ...]
    out: str
    solvers: tuple[str, ...] = ()
    formulations: tuple[str, ...] = ()
    solver_methods: tuple[str, ...] = ("milp",)
    seeded_methods: tuple[str, ...] = ("rl",)
    seeds: tuple[int, ...] = ()
    time_limit: float | None = None
    threads: int | None = 1
    wall_limit: float | None = None  # hard guard per run (s); default from time_limit
    options: dict[str, Any] = field(default_factory=dict)
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures: tuple[str, ...] = ()
    figures_dir: str | None = None
    tables_dir: str | None = None
    description: str = ""

    def guard_s(self, run: Run | None = None) -> float:
        """Hard wall-clock limit of ``run`` (s): ``wall_limit``, else ``2 * limit + 60`` with the
        run's own time limit (``options`` or ``method_options``, which win over the field), else
        the spec's ``time_limit``, else 3600 s. The runner counts it from the solve's start once
        the run's worker reports it, and from the launch before (:func:`optdist.bench.runner.execute`)."""
        if self.wall_limit is not None:
            return float(self.wall_limit)
        limit = run.options.get("time_limit", self.time_limit) if run is not None else self.time_limit
        return 2.0 * limit + 60.0 if limit is not None else 3600.0

    def instance_paths(self) -> list[Path]:
        """The instance files matched by the globs, in spec order, without duplicates
        (one file reached by two spellings, e.g. relative and absolute, is kept once).

        ``**`` matches any depth of folders (``glob.glob(..., recursive=True)``). Raises ValueError
        naming the pattern (and, for a relative one, the folder it is taken from, the current one)
        and the fix when one matches no file or a folder."""
        seen: dict[Path, Path] = {}
        for pattern in self.instances:
            hits = sorted(glob.glob(pattern, recursive=True))  # '**' spans folders, as users expect
            if not hits and any(c in pattern for c in "[]*?") and os.path.isfile(pattern):
                raise ValueError(f"spec {self.name}: instance pattern {text_of(pattern)} is read as a glob, in which "
                                 "[...] is a set of characters (or * and ? wildcards), so it matches no file, not the "
                                 f"file of that name (fix: escape it: {text_of(glob.escape(pattern))})")
            if not hits:
                raise ValueError(f"spec {self.name}: instance pattern {text_of(pattern)} matches no file{in_cwd(pattern)}"
                                 " (fix: correct the pattern"
                                 f"{'' if os.path.isabs(pattern) else ', or run from the folder it is relative to'})")
            for h in hits:
                if Path(h).is_dir():
                    raise ValueError(f"spec {self.name}: instance pattern {text_of(pattern)} matches the folder {text_of(h)}, not an "
                                     f"instance file (fix: name its files, e.g. {text_of(str(Path(h) / '*.json'))})")
                seen.setdefault(Path(h).resolve(), Path(h))
        return list(seen.values())

    def runs(self) -> list[Run]:
        """The grid, in a stable order."""
        limits = {k: v for k, v in (("time_limit", self.time_limit), ("threads", self.threads)) if v is not None}
        out: list[Run] = []
        for path in self.instance_paths():
            for method in self.methods:
                axis = method in self.solver_methods
                opts = {**(limits | self.options if axis else {}), **self.method_options.get(method, {})}
                seeds = (self.seeds or (None,)) if method in self.seeded_methods else (None,)
                for solver in (self.solvers or (None,)) if axis else (None,):
                    for form in (self.formulations or (None,)) if axis else (None,):
                        for seed in seeds:
                            out.append(Run(path.stem, str(path), method, solver, form, seed, dict(opts)))
        return out

    def to_json(self) -> dict:
        """The spec as a document :func:`parse_spec` reads back (``seeds`` left out when empty)."""
        doc = asdict(self)
        if not self.seeds:
            del doc["seeds"]
        return doc

    def external_methods(self, allow_external: bool = False) -> dict[str, str]:
        """The spec's methods from outside optdist, each with the folder its module is imported from.

        Raises ValueError naming the method and the fix when there is one and
        ``allow_external`` is false, or when its module cannot be found.
        """
        out: dict[str, str] = {}
        for method in self.methods:
            if ":" not in method or _shipped(method):
                continue
            if not allow_external:
                raise ValueError(
                    f"spec {self.name}: method {text_of(method)} is not in the registry {quoted(sorted(_registry()))} and would "
                    f"import code from outside optdist (fix: use a registered method, or allow it explicitly with "
                    f"`optdist bench --allow-external-methods` / run_sweep(..., allow_external=True))")
            out[method] = _module_dir(method, self.name)
        return out


def _registry() -> dict[str, str]:
    from optdist.solve import METHODS

    return METHODS


def _shipped(method: str) -> bool:
    """True for ``optdist.<module>:function``: code that ships with optdist."""
    return method.split(":", 1)[0].split(".")[0] == "optdist"


def _module_dir(method: str, where: str) -> str:
    """The folder that holds the top-level package of ``method``'s module, searched on the
    import path and then in the working directory (where a user's own module usually is)."""
    top = method.split(":", 1)[0].split(".")[0]
    found = PathFinder.find_spec(top, [p for p in sys.path if p] + [os.getcwd()])
    if found is None or found.origin is None and not found.submodule_search_locations:
        raise ValueError(f"spec {where}: method {text_of(method)}: module {text_of(top)} not found on the import path "
                         f"or in {os.getcwd()} (fix: run from the folder that holds it, or add it to PYTHONPATH)")
    if found.submodule_search_locations:  # a package: its folder's parent
        return str(Path(list(found.submodule_search_locations)[0]).resolve().parent)
    return str(Path(found.origin).resolve().parent)


_METHOD = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


_LISTS = ("instances", "methods", "solvers", "formulations", "solver_methods", "seeded_methods", "seeds", "figures")


def parse_spec(data: dict, where: str = "spec") -> BenchSpec:
    """Check a decoded spec document; raises ValueError naming the field and the fix."""
    known = set(BenchSpec.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        from optdist.solve import METHOD_OPTIONS

        takers = sorted(m for m, takes in METHOD_OPTIONS.items() if unknown[0] in takes)
        close = closest(unknown[0], sorted(known))
        if takers:  # a method's option at the top (break39: solver_options was "did you mean solver_methods?")
            methods = data.get("methods") if isinstance(data.get("methods"), list) else []
            one = next((m for m in methods if m in takers), takers[0])
            axis = f"; or the axis {text_of(close)}, e.g. {close} = [...]" if close == unknown[0] + "s" else ""
            raise ValueError(f"{where}: unknown field {text_of(unknown[0])}: it is an option of the methods "
                             f"({', '.join(takers)}), not a field of the spec (fix: give it under [options], "
                             f"options.{unknown[0]}, for the spec's solver_methods, or under "
                             f"[method_options.{one}] for one method{axis})")
        mean = f"did you mean {text_of(close)} for {text_of(unknown[0])}? " if close else ""
        raise ValueError(f"{where}: unknown field(s) {quoted(unknown)} (fix: {mean}use only {quoted(sorted(known))})")
    for req in ("name", "instances", "methods", "out"):
        if req not in data:
            raise ValueError(f"{where}: missing {text_of(req)} (fix: add it, e.g. see benchmarks/specs/"
                             f"{'; or give `optdist bench --out DIR`' if req == 'out' else ''})")
    doc = dict(data)
    _check_types(doc, where)
    for k in _LISTS:
        if k in doc:
            v = doc[k]
            doc[k] = tuple([v] if isinstance(v, str | int) else v)
    _check_lists(doc, where)
    bad = sorted(set(doc.get("figures", ())) - set(FIGURES))
    if bad:
        raise ValueError(f"{where}: unknown figure(s) {quoted(bad)} (fix: choose from {quoted(FIGURES)})")
    for k in ("methods", "solver_methods", "seeded_methods"):
        for method in doc.get(k, ()):
            if not isinstance(method, str) or (":" in method and not _METHOD.match(method)) or (
                    ":" not in method and method not in _registry()):
                close = closest(method, sorted(_registry()), ignore_case=True) if isinstance(method, str) else None
                mean = f"did you mean {text_of(close)}? " if close else ""
                raise ValueError(f"{where}: {k}: unknown method {value_text(method)} (fix: {mean}choose from "
                                 f"{quoted(sorted(_registry()))}, or name a function as \"module:function\")")
    _check_method_options(doc, where)
    _check_axes(doc, where)
    return BenchSpec(**doc)


def _check_method_options(doc: dict, where: str) -> None:
    """Every registered method of the spec takes each option the spec gives it
    (:data:`optdist.solve.METHOD_OPTIONS`): the solvers and formulations axes, ``time_limit``,
    ``threads`` and ``options`` (its ``solver_methods``), the seeds (its ``seeded_methods``) and
    its ``method_options``. A method given an option it does not take would fail every run with a
    TypeError; this is a ValueError naming the field, the method, the option and the methods
    that take it. A value of a type the method does not declare for it
    (:func:`option_value_problem`, e.g. ``policy = 5``) is a ValueError naming the field, the
    value, the type and an example; a plan method's seconds out of range (:func:`_check_plan_seconds`)
    a ValueError naming the field, the value and the fix. A ``module:function`` is not imported
    here: its options are its own.

    No method gets an axis's option (``solver``, ``formulation``, ``seed``) also from ``options``
    or ``method_options``: that value would replace the axis's in every run (:meth:`Run.solve_options`)
    while its records stay labelled by the axis (e.g. CBC runs filed under ``highs``); a
    ValueError naming the field and the axis."""
    from optdist.options import GENERIC_OPTIONS
    from optdist.solve import METHOD_OPTIONS

    solver_methods, options = doc.get("solver_methods", ("milp",)), doc.get("options", {})
    for method in doc["methods"]:
        given: list[tuple[str, str, str]] = []  # (field, option, fix)
        axes: dict[str, str] = {}  # option -> the axis that gives it
        if method in solver_methods:
            leave = f"leave {text_of(method)} out of solver_methods"
            axes |= {opt: axis for opt, axis in (("solver", "solvers"), ("formulation", "formulations")) if doc.get(axis)}
            given += [("solver_methods", opt, leave) for opt in axes]
            given += [("solver_methods", k, leave) for k, default in (("time_limit", None), ("threads", 1))
                      if doc.get(k, default) is not None]
            given += [(f"options.{k}", k, f"{leave}, or give {k} under [method_options.NAME] of the methods that take it")
                      for k in options]
        if method in doc.get("seeded_methods", ("rl",)) and doc.get("seeds"):
            axes["seed"] = "seeds"
            given.append(("seeded_methods", "seed", f"leave {text_of(method)} out of seeded_methods"))
        given += [(f"method_options.{method}.{k}", k, "remove it") for k in doc.get("method_options", {}).get(method, {})]
        for field_name, opt, fix in given:
            if field_name.startswith(("options.", "method_options.")) and opt in axes:
                raise ValueError(f"{where}: {field_name}: method {text_of(method)} gets {text_of(opt)} from the {axes[opt]} axis; given "
                                 f"here too it would replace the axis's value in every run, whose records are still "
                                 f"labelled by the axis (fix: remove it, or give the value in {axes[opt]})")
            if method in METHOD_OPTIONS and opt not in METHOD_OPTIONS[method]:
                takers = sorted(m for m, takes in METHOD_OPTIONS.items() if opt in takes)
                raise ValueError(f"{where}: {field_name}: method {text_of(method)} takes no option {text_of(opt)}, so every run of it "
                                 f"would fail (fix: {fix}; {method} takes {', '.join(sorted(METHOD_OPTIONS[method]))}; "
                                 f"{opt} is taken by {', '.join(takers) or 'no registered method'})")
            typed = method in METHOD_OPTIONS and field_name.startswith(("options.", "method_options."))
            problem = None if not typed or opt in GENERIC_OPTIONS else option_value_problem(opt, _value(doc, field_name))
            # (the generic options' types and ranges: check_options, in _check_axes)
            if problem:  # before: accepted here, and every run of the method failed (e.g. TypeError for policy = 5)
                expected, example = problem
                raise ValueError(f"{where}: {field_name} = {value_text(_value(doc, field_name))} is not {expected}, so every run "
                                 f"of {text_of(method)} would fail (fix: give {expected}, e.g. {opt} = {example})")
            if typed and opt in _PLAN_SECONDS:
                _check_plan_seconds(method, field_name, opt, _value(doc, field_name), where)
            if typed and opt in ("episodes", "timesteps") and _value(doc, field_name) is not None:
                from optdist.rl.presets import count_in_range  # torch-free

                if not count_in_range(_value(doc, field_name)):
                    raise ValueError(f"{where}: {field_name} = {value_text(_value(doc, field_name))} is out of range, so every "
                                     f"run of {text_of(method)} would train nothing (fix: give a whole number >= 1, e.g. "
                                     f"{opt} = {2000 if opt == 'episodes' else 20000})")


#: the plan methods' seconds options (``plan-guided``, ``plan-rollout``), range-checked when a spec
#: is read by the library's rule (:func:`optdist.heuristics.plan_guided.seconds_in_range`)
_PLAN_SECONDS = ("plan_time_limit", "polish_time_limit", "repair_time_limit")


def _check_plan_seconds(method: str, field_name: str, option: str, value: Any, where: str) -> None:
    """``value`` of the spec field ``field_name`` (option ``option``, one of :data:`_PLAN_SECONDS`,
    of type already checked; None: not given) is in the range the plan methods take: a finite
    number of seconds > 0, ``polish_time_limit`` >= 0 (0: no polish), by the library's predicate
    :func:`optdist.heuristics.plan_guided.seconds_in_range` (imported only here: it loads the
    heuristics). Raises ValueError naming the file, the field, the value and the fix; before, e.g.
    ``polish_time_limit = -1`` was accepted and every run of the method failed when it started."""
    if value is None:
        return
    from optdist.heuristics.plan_guided import seconds_in_range

    polish = option == "polish_time_limit"
    if not seconds_in_range(value, zero=polish):
        raise ValueError(f"{where}: {field_name} = {value_text(value)} is out of range, so every run of {text_of(method)} would fail "
                         f"(fix: give a finite number of seconds " + (">= 0, 0 for no polish" if polish else "> 0")
                         + f", e.g. {option} = {'0.0' if polish else '5.0'})")


def _value(doc: dict, field_name: str) -> Any:
    """The value of the spec field ``options.NAME`` or ``method_options.METHOD.NAME``."""
    *tables, name = field_name.split(".")
    for table in tables:
        doc = doc[table]
    return doc[name]


#: what a spec value (TOML or JSON) may be for each member of an option's type annotation
#: (:data:`optdist.solve.OPTION_TYPES`), how to say it and an example; members a spec cannot give
#: (an ``Instance``, an ``Assignment``, a ``Policy`` object) are left out
_SPEC_VALUES: dict[str, tuple[tuple[type, ...], str, str]] = {
    "Path": ((str,), "a path (a string)", '"runs/rl/lenet"'), "str": ((str,), "a string", '"highs"'),
    "int": ((int,), "a whole number", "3000"), "float": ((int, float), "a number", "5.0"),
    "bool": ((bool,), "true or false", "true"), "Mapping[str, Any]": ((dict,), "a table", '{ key = "value" }'),
    "None": ((type(None),), "null (the default)", "null"),
}
#: an example value of each text option whose type's example above would be a wrong one for it
#: (e.g. ``reward = "highs"``, ``forecast = "runs/rl/lenet"``)
_OPTION_EXAMPLES: dict[str, str] = {
    "forecast": '"instances/coupled/lenet-8x4-rpi3.json"', "formulation": '"tight"', "inner": '"milp"',
    "plan_start": '"runs/plan/result.json"', "reward": '"stage"', "warm_start": '"greedy"',
    **{name: OPTION_EXAMPLES[name] for name in ("mip_gap", "seed", "threads")},  # time_limit: a float's "5.0"
}


def option_value_problem(option: str, value: Any) -> tuple[str, str] | None:
    """What is wrong with ``value`` (as read from a spec) for the method option ``option``, by the
    type the methods declare for it (:data:`optdist.solve.OPTION_TYPES`): what it should be (e.g.
    ``"a path (a string)"``) and an example; None when it fits, or when the option's type is not
    declared (a ``module:function``'s own options). A bool is not a number here (TOML ``true``
    for a count); an integral float is a whole number for the generic options that take one
    (:data:`~optdist.options.WHOLE_OPTIONS`: ``threads = 2.0``, which
    :func:`~optdist.options.check_options` passes on as 2, as the CLI takes ``--threads 2.0``)."""
    from optdist.solve import OPTION_TYPES

    declared = OPTION_TYPES.get(option, "").split(" | ")
    members = [_SPEC_VALUES[m] for m in _SPEC_VALUES if m in declared]  # "Path" first: the example a path
    if not members or any(isinstance(value, kinds) and (not isinstance(value, bool) or bool in kinds)
                          for kinds, _, _ in members):
        return None
    if option in WHOLE_OPTIONS and is_whole(value):
        return None
    said = [word for kinds, word, _ in members if kinds != (type(None),)]  # JSON's null: left unsaid (TOML has none)
    example = _OPTION_EXAMPLES.get(option, members[0][2])
    return " or ".join(said[:1] if "Path" in declared else said), example  # a path is the string it takes


#: text fields; the folders may be null in a JSON spec (the default)
_TEXT = ("name", "out", "description")
_FOLDERS = ("figures_dir", "tables_dir")
#: lists whose entries must be distinct (each entry is an axis value or a figure: a repeat runs or draws twice)
_DISTINCT = ("methods", "solvers", "formulations", "seeds", "figures")


def _check_types(doc: dict, where: str) -> None:
    """The type of every field (before lists are normalised); ValueError naming the field and the fix."""
    for k in _TEXT + _FOLDERS:
        v = doc.get(k)
        if k in doc and not (isinstance(v, str) and (v.strip() or k == "description") or v is None and k in _FOLDERS):
            raise ValueError(f"{where}: {k} = {value_text(v)} is not {'a' if k == 'description' else 'a non-empty'} string "
                             f"(fix: write it in quotes, e.g. {k} = \"{'runs/my-sweep' if k != 'name' else 'my-sweep'}\")")
    for k in _LISTS:
        if k not in doc:
            continue
        v = doc[k]
        if k == "seeds":  # a lone seed or an empty list is a slip: leave the field out to pass no seed
            _check_seeds(v, where)
            continue
        entries = [v] if isinstance(v, str | int) else v
        if not isinstance(entries, list | tuple):
            raise ValueError(f"{where}: {k} = {value_text(v)} is not a list (fix: give a list, e.g. {k} = [\"...\"])")
        bad = [e for e in entries if k != "methods" and (not isinstance(e, str) or not e.strip())]
        if bad:  # methods are checked against the registry
            raise ValueError(f"{where}: {k}: entry {value_text(bad[0])} is not a non-empty string (fix: write each entry in quotes)")
    for k in ("options", "method_options"):
        if k in doc and not isinstance(doc[k], dict):
            raise ValueError(f"{where}: {k} = {value_text(doc[k])} is not a table (fix: write it as [{k}] with key = value lines, "
                             "or {...} in JSON)")
    for method, opts in doc.get("method_options", {}).items():
        if not isinstance(opts, dict):
            raise ValueError(f"{where}: method_options.{method} = {value_text(opts)} is not a table of options "
                             f"(fix: write [method_options.{method}] followed by key = value lines)")


def _check_seeds(seeds: Any, where: str) -> None:
    """``seeds`` is a non-empty list of whole numbers in the seed's range
    (:func:`optdist.options.check_options`); ValueError naming the field and the fix, e.g.
    ``"f.toml: seeds = ['a']: 'a' is not a whole number (fix: give whole numbers, e.g. seeds =
    [0, 1])"``, ``"f.toml: seeds = [0, -1]: -1 is out of range (fix: give each seed as an integer
    in [0, 2147483647], e.g. seeds = [0, 1])"`` (before: "seeds: seed = -1 ...", a key the spec
    does not have). A lone number and ``[]`` are refused: without ``seeds`` the seeded methods get
    no seed."""
    from optdist.options import OPTION_RANGES, check_options

    if not isinstance(seeds, list | tuple):
        raise ValueError(f"{where}: seeds = {value_text(seeds)} is not a list (fix: give a list, e.g. seeds = [0, 1])")
    if not seeds:
        raise ValueError(f"{where}: seeds = [] is empty (fix: leave seeds out to pass no seed, or give seeds, "
                         "e.g. seeds = [0, 1])")
    for seed in seeds:
        problem = option_value_problem("seed", seed)
        if problem:
            raise ValueError(f"{where}: seeds = {value_text(list(seeds))}: {value_text(seed)} is not {problem[0]} "
                             "(fix: give whole numbers, e.g. seeds = [0, 1])")
        try:
            check_options({"seed": seed})
        except ValueError:
            raise ValueError(f"{where}: seeds = {value_text(list(seeds))}: {value_text(seed)} is out of range (fix: give each seed as "
                             f"{OPTION_RANGES['seed']}, e.g. seeds = [0, 1])") from None


def _check_lists(doc: dict, where: str) -> None:
    """``instances`` and ``methods`` not empty (the grid would have no run, and the tables no
    record), no entry twice in an axis (a repeated method, solver, formulation or seed would run
    the same run twice, both into one record), and ``method_options`` only for the spec's methods."""
    for k, example in (("instances", '["instances/tiny/*.json"]'), ("methods", '["milp"]')):
        if not doc[k]:
            raise ValueError(f"{where}: {k} is empty, so the sweep has no run (fix: list at least one, "
                             f"e.g. {k} = {example})")
    for k in _DISTINCT:
        seen = set()
        for e in doc.get(k, ()):
            if e in seen:
                raise ValueError(f"{where}: {k}: {value_text(e)} is listed twice (fix: list each once; one run per "
                                 "combination is recorded)")
            seen.add(e)
    stray = sorted(set(doc.get("method_options", {})) - set(doc["methods"]))
    if stray:
        raise ValueError(f"{where}: method_options for {quoted(stray)}, not among the methods {quoted(doc['methods'])} "
                         '(fix: correct the name, or add the method to "methods")')


def _check_axes(doc: dict, where: str) -> None:
    """Solvers (``options.pricing_solver`` too), formulations, limits and generic options (the
    seeds: :func:`_check_seeds`), as ``optdist solve`` checks them
    (:func:`optdist.solvers.base.check_options`), so that a typo stops the sweep before its first
    run; solver names only where a registered method takes them (an external method's are its own).
    Whether a named solver is installed is the worker's question (a Dask worker may have it)."""
    from optdist.milp.solve import SOLVE_FORMULATIONS
    from optdist.solvers import get_solver
    from optdist.options import GENERIC_OPTIONS, OPTION_RANGES, check_options

    registered = [m for m in doc["methods"] if ":" not in m and m in doc.get("solver_methods", ("milp",))]
    if registered:
        for name in doc.get("solvers", ()):
            try:
                get_solver(str(name))
            except (ValueError, OSError) as e:
                raise ValueError(f"{where}: solvers: {e}") from None
        for form in doc.get("formulations", ()):
            if form not in SOLVE_FORMULATIONS:
                raise ValueError(f"{where}: formulations: unknown formulation {value_text(form)} "
                                 f"(fix: choose from {quoted(SOLVE_FORMULATIONS)})")
    _check_numbers({k: doc.get(k) for k in ("time_limit", "threads", "wall_limit")}, where)
    _check_numbers(doc.get("options", {}), where, "options.")
    for method, opts in doc.get("method_options", {}).items():
        _check_numbers(opts, where, f"method_options.{method}.")
    check_options({k: doc.get(k) for k in ("time_limit", "threads")}, where)
    for values in (doc, doc.get("options", {}), *doc.get("method_options", {}).values()):
        _whole_as_int(values)
    wall = doc.get("wall_limit")
    if wall is not None and not (isinstance(wall, int | float) and not isinstance(wall, bool)
                                 and math.isfinite(wall) and wall > 0):
        raise ValueError(f"{where}: wall_limit = {value_text(wall)} is out of range (fix: give {OPTION_RANGES['time_limit']})")
    limits = [("time_limit", doc.get("time_limit")), ("options.time_limit", doc.get("options", {}).get("time_limit"))]
    limits += [(f"method_options.{m}.time_limit", o.get("time_limit")) for m, o in doc.get("method_options", {}).items()]
    for name, limit in limits:
        if wall is not None and isinstance(limit, int | float) and wall <= limit:  # its runs would be killed early
            raise ValueError(f"{where}: wall_limit = {value_text(wall)} is not above {name} = {value_text(limit)}: the guard would kill "
                             f"those runs before their time limit (fix: leave wall_limit out for 2 * time_limit + 60 s "
                             f"per run, or give more than {value_text(limit)})")
    options = doc.get("options", {})
    both = sorted(k for k in ("time_limit", "threads") if k in doc and k in options)
    if both:  # options would win silently over the top-level field
        raise ValueError(f"{where}: {both[0]} is given both as a field and in options "
                         f"({value_text(doc[both[0]])} and {value_text(options[both[0]])}) (fix: keep one)")
    check_options({k: v for k, v in options.items() if k in GENERIC_OPTIONS}, f"{where}: options")
    for method, opts in doc.get("method_options", {}).items():
        check_options({k: v for k, v in opts.items() if k in GENERIC_OPTIONS}, f"{where}: method_options.{method}")
    if registered and "pricing_solver" in options:  # the solvers' names, as above (installed: the worker's)
        from optdist.milp.decomposition.pricing import check_pricing_solver

        try:
            check_pricing_solver(str(options["pricing_solver"]))
        except (ValueError, OSError) as e:  # its fix names the spec's field, not the command line's flags
            raise ValueError(f"{where}: options.pricing_solver: {str(e).rsplit(' (fix: ', 1)[0]} (fix: give another "
                             "pricing solver in the spec, options.pricing_solver = \"highs\" (or \"scip\"), or leave "
                             "options.pricing_solver out to price with each run's solver)") from None
    _check_solver_options(doc, where)


def _check_solver_options(doc: dict, where: str) -> None:
    """The raw solver options each registered method gets (``options.solver_options`` for the
    ``solver_methods``, ``method_options.NAME.solver_options``), checked by each solver its runs
    use (the solvers axis, else the method's ``solver`` option, else the default) as each run
    would check them, but before the first (:meth:`optdist.solvers.base.Solver.check_raw_options`:
    before, e.g. HiGHS's ``mip_rel_gap`` given to CBC failed every CBC run of the sweep). Raises
    ValueError naming the spec, the field, the solver, the option and the fix (the solver's own
    name, or optdist's generic option: ``mip_gap``). A solver profile's own ``[solver_options]``
    where the spec gives none are checked together too
    (:meth:`~optdist.solvers.base.Solver.check_raw_together`: before, every run failed)."""
    from optdist.solvers import get_solver

    solver_methods, options = doc.get("solver_methods", ("milp",)), doc.get("options", {})
    for method in doc["methods"]:
        if ":" in method:  # an external method's options are its own
            continue
        mine = doc.get("method_options", {}).get(method, {})
        fields = [(f"method_options.{method}.solver_options", mine.get("solver_options"))]
        if method in solver_methods:
            fields.append(("options.solver_options", options.get("solver_options")))
        axis = doc.get("solvers") if method in solver_methods else None
        solvers = axis or [mine.get("solver") or (options.get("solver") if method in solver_methods else None)]
        given = [(field_name, raw) for field_name, raw in fields
                 if isinstance(raw, dict) and raw]  # a wrong type: _check_method_options
        for name in solvers:
            if not given:  # a profile's own raw options, alone (a solver profile file's btf without cbg)
                try:
                    adapter = None if name is None else get_solver(str(name))
                except (ValueError, OSError):  # no solver by that name: its runs' error, as before
                    adapter = None
                if adapter is not None:
                    adapter.check_raw_together(adapter.solver_options, f"{where}: {adapter.raw_where(None)}")
                continue
            adapter = get_solver() if name is None else get_solver(str(name))
            for field_name, raw in given:
                said = f"{where}: {field_name} (solver {adapter.name})"
                adapter.check_raw_together({**adapter.solver_options, **adapter.check_raw_options(raw, said)},
                                           adapter.raw_where(said))


def _whole_as_int(values: dict[str, Any]) -> None:
    """Each whole-number generic option (:data:`~optdist.options.WHOLE_OPTIONS`) given as an
    integral float (``threads = 2.0``) as the int, in place: its runs, keys and records say 2."""
    for name in WHOLE_OPTIONS:
        if isinstance(values.get(name), float) and is_whole(values[name]):
            values[name] = int(values[name])


def _check_numbers(values: dict[str, Any], where: str, prefix: str = "") -> None:
    """The generic options among ``values`` (:data:`optdist.options.GENERIC_OPTIONS`) and
    ``wall_limit`` are of their declared type (:func:`option_value_problem`): e.g.
    ``time_limit = "5"`` is a ValueError ``"... time_limit = '5' is not a number (fix: give a
    number, e.g. time_limit = 5.0)"``, worded as for every other numeric option of a spec (their
    ranges: :func:`optdist.options.check_options`, after this)."""
    from optdist.options import GENERIC_OPTIONS

    for name, value in values.items():
        if name not in GENERIC_OPTIONS + ("wall_limit",) or value is None:
            continue
        problem = option_value_problem("time_limit" if name == "wall_limit" else name, value)  # wall_limit: seconds too
        if problem:  # before: "is out of range" for a value of the wrong type, "is not a number" elsewhere
            expected, example = problem
            raise ValueError(f"{where}: {prefix}{name} = {value_text(value)} is not {expected} "
                             f"(fix: give {expected}, e.g. {name} = {example})")


def load_spec(path: str | Path, out: str | Path | None = None) -> BenchSpec:
    """Read a ``.toml`` or ``.json`` (in any case, :func:`~optdist.jsonfile.is_json_name`) spec file;
    ValueError naming the file if it cannot be read. UTF-8; a byte-order mark before the first line
    (a Windows editor's) is skipped. ``out`` (``optdist bench --out``) stands in for a spec without its ``out`` field."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: spec file not found")
    if is_json_name(path.name):  # S.JSON too; bounded, duplicate keys refused; DocumentError names the place and the fix
        data = restore_non_finite(read_json(path, 16 * MiB, what="bench spec"), str(path))  # the sweep's spec.json
    else:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM (a Windows editor's): as JSON specs
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise ValueError(f"{path}: not a readable TOML spec ({e}) (fix: see benchmarks/specs/ for examples)") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a spec is a JSON object or a TOML table, not a {type(data).__name__}")
    if out is not None and "out" not in data:
        data = {**data, "out": str(out)}
    return parse_spec(data, str(path))
