"""Sweep specs: grid expansion, which options reach which method, run keys, errors."""

from __future__ import annotations

import json

import pytest

from optdist.bench.spec import load_spec, parse_spec

from .conftest import ROOT

MICRO = [str(ROOT / f"instances/tiny/{n}.json") for n in ("micro-1x3-tau0.6", "micro-2x2-tau0.6", "micro-2x3-tight")]
BASE = {"name": "t", "out": "o", "instances": MICRO}


def test_grid_axes_apply_to_the_right_methods():
    spec = parse_spec({**BASE, "methods": ["milp", "greedy", "rl"], "solvers": ["highs", "scip"],
                       "formulations": ["compact", "per-map"], "seeds": [0, 1], "time_limit": 5,
                       "options": {"mip_gap": 1e-6}, "method_options": {"rl": {"episodes": 3}}})
    runs = spec.runs()
    n_inst = len(spec.instance_paths())
    assert n_inst == 3
    by = lambda m: [r for r in runs if r.method == m]  # noqa: E731
    assert len(by("milp")) == n_inst * 4 and len(by("greedy")) == n_inst and len(by("rl")) == n_inst * 2
    milp = by("milp")[0]
    assert milp.solve_options() == {"solver": "highs", "formulation": "compact", "time_limit": 5, "threads": 1, "mip_gap": 1e-6}
    assert by("greedy")[0].solve_options() == {}
    assert by("rl")[1].solve_options() == {"seed": 1, "episodes": 3}


def test_keys_are_unique_readable_and_option_sensitive():
    spec = parse_spec({**BASE, "methods": ["milp"], "solvers": ["highs"], "time_limit": 5})
    keys = [r.key for r in spec.runs()]
    assert len(set(keys)) == len(keys)
    assert keys[0].startswith("micro-1x3-tau0.6--milp--highs--")
    other = parse_spec({**BASE, "methods": ["milp"], "solvers": ["highs"], "time_limit": 6})
    assert not set(keys) & {r.key for r in other.runs()}


def test_toml_and_json_specs_load_the_same(tmp_path):
    (tmp_path / "s.toml").write_text(
        'name = "t"\nout = "o"\ninstances = ["instances/tiny/micro-1x3-tau0.6.json"]\nmethods = "greedy"\n'
        "time_limit = 5\n[method_options.greedy]\n"
    )
    (tmp_path / "s.json").write_text(json.dumps({"name": "t", "out": "o", "instances": ["instances/tiny/micro-1x3-tau0.6.json"],
                                                  "methods": ["greedy"], "time_limit": 5, "method_options": {"greedy": {}}}))
    assert load_spec(tmp_path / "s.toml") == load_spec(tmp_path / "s.json")


def test_guard_defaults():
    assert parse_spec({**BASE, "methods": ["greedy"]}).guard_s() == 3600
    assert parse_spec({**BASE, "methods": ["greedy"], "time_limit": 10}).guard_s() == 80
    assert parse_spec({**BASE, "methods": ["greedy"], "wall_limit": 3}).guard_s() == 3


def test_guard_follows_each_runs_own_time_limit():
    """review16: a per-method time limit (method_options) got the spec's guard (time_limit 10:
    80 s) and every run of 5000 s was killed as a timeout; one in options was not checked
    against wall_limit."""
    spec = parse_spec({**BASE, "methods": ["milp", "greedy"], "time_limit": 10,
                       "method_options": {"milp": {"time_limit": 100}}})
    guards = {r.method: spec.guard_s(r) for r in spec.runs()}
    assert guards == {"milp": 260, "greedy": 80}
    for where in ({"options": {"time_limit": 100}}, {"method_options": {"milp": {"time_limit": 100}}}):
        with pytest.raises(ValueError, match="wall_limit = 50 is not above .*time_limit = 100"):
            parse_spec({**BASE, "methods": ["milp"], "wall_limit": 50, **where})


@pytest.mark.parametrize("doc, msg", [
    ({"name": "t", "out": "o", "methods": ["greedy"]}, 'missing "instances"'),
    ({**BASE, "methods": ["greedy"], "solver": ["highs"]}, "unknown field"),
    ({**BASE, "methods": ["greedy"], "figures": ["fig99"]}, "unknown figure"),
    ({**BASE, "methods": ["greedy"], "instances": ["nowhere/*.json"]},
     r"matches no file in .* \(fix: correct the pattern, or run from the folder it is relative to\)"),
    # review23a: an empty list ran no run, then the tables said "no usable records (run `optdist bench SPEC` first)"
    ({**BASE, "methods": []}, r"methods is empty, so the sweep has no run \(fix: list at least one"),
    ({**BASE, "methods": ["greedy"], "instances": []}, r"instances is empty, so the sweep has no run \(fix:"),
])
def test_spec_errors_name_the_fix(doc, msg):
    with pytest.raises(ValueError, match=msg):
        parse_spec(doc).runs()


def test_bundled_specs_expand(monkeypatch):
    monkeypatch.chdir(ROOT)
    specs = sorted((ROOT / "benchmarks/specs").glob("*.toml"))
    assert specs
    for path in specs:
        assert load_spec(path).runs(), path


def test_same_file_name_in_two_folders_gives_two_runs_and_two_keys(tmp_path, monkeypatch):
    for folder, src in (("a", MICRO[0]), ("b", MICRO[1])):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.json").write_text(open(src).read())
    monkeypatch.chdir(tmp_path)
    spec = parse_spec({"name": "t", "out": "o", "methods": ["greedy"],
                       "instances": ["a/x.json", "b/*.json", str(tmp_path / "a/x.json"), "./b/x.json"]})
    runs = spec.runs()
    assert [r.instance_path for r in runs] == ["a/x.json", "b/x.json"]  # one run per file, however spelled
    assert runs[0].key != runs[1].key and all(r.key.startswith("x--greedy--") for r in runs)
    assert runs[0].legacy_key == runs[1].legacy_key  # what the old keys did: one record for both


@pytest.mark.parametrize("method", ["gredy", "milp ", "", "os:", ":system", "a b:c", 3])
def test_unknown_methods_are_refused_when_the_spec_is_read(method):
    with pytest.raises(ValueError, match=r'methods: unknown method .*fix: (did you mean .*\? )?choose from .*"greedy"'):
        parse_spec({**BASE, "methods": ["greedy", method]})


def test_methods_from_outside_optdist_need_an_explicit_allowance(monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = parse_spec({**BASE, "methods": ["greedy", "optdist.milp.decomposition.colgen:column_generation",
                                           "tests.test_bench_methods:solve_fail"]})
    with pytest.raises(ValueError, match=r'"tests.test_bench_methods:solve_fail" is not in the registry .*--allow-external-methods'):
        spec.external_methods()
    assert spec.external_methods(allow_external=True) == {"tests.test_bench_methods:solve_fail": str(ROOT)}
    nowhere = parse_spec({**BASE, "methods": ["no_such_module_here:solve"]})
    with pytest.raises(ValueError, match='module "no_such_module_here" not found'):
        nowhere.external_methods(allow_external=True)


def test_a_users_module_in_the_working_directory_is_found(tmp_path, monkeypatch):
    (tmp_path / "my_methods_for_optdist.py").write_text("def solve(inst, **kw):\n    raise RuntimeError\n")
    monkeypatch.chdir(tmp_path)
    spec = parse_spec({**BASE, "methods": ["my_methods_for_optdist:solve"]})
    assert spec.external_methods(allow_external=True) == {"my_methods_for_optdist:solve": str(tmp_path.resolve())}


def test_bundled_specs_need_no_external_methods(monkeypatch):
    monkeypatch.chdir(ROOT)
    for path in sorted((ROOT / "benchmarks/specs").glob("*.toml")):
        assert load_spec(path).external_methods() == {}, path


@pytest.mark.parametrize("name, text", [("s.toml", 'name = "t"\nmethods = ['), ("s.json", '{"name": "t", '),
                                        ("s.json", "[1]"), ("s.toml", b"\xff\xfe")])
def test_unreadable_spec_files_are_named(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=f"{path}: "):
        load_spec(path)


def test_method_options_table_matches_the_functions_signatures():
    """optdist.solve.METHOD_OPTIONS (read by the spec check without importing torch or the MILP
    stack) lists exactly each registered function's options."""
    import inspect

    from optdist.solve import METHOD_OPTIONS, METHODS, method_function

    assert set(METHOD_OPTIONS) == set(METHODS)
    for method in METHODS:
        params = list(inspect.signature(method_function(method)).parameters.values())[1:]  # after the instance
        assert not any(p.kind is p.VAR_KEYWORD for p in params), method
        assert METHOD_OPTIONS[method] == {p.name for p in params}, method


@pytest.mark.parametrize("extra, field, option", [
    ({"solver_methods": ["greedy", "milp"], "solvers": ["highs"]}, "solver_methods", "solver"),
    ({"solver_methods": ["greedy"], "formulations": ["compact"]}, "solver_methods", "formulation"),
    ({"solver_methods": ["greedy"], "options": {"mip_gap": 0.01}}, "options.mip_gap", "mip_gap"),
    ({"method_options": {"greedy": {"episodes": 3}}}, "method_options.greedy.episodes", "episodes"),
])
def test_a_method_given_an_option_it_does_not_take_is_refused_when_the_spec_is_read(tmp_path, extra, field, option):
    """fixes17: `solver_methods = ["greedy"]` with solvers passed solver= to greedy and every run
    failed with a TypeError at run time (the sweep exited 0); now the spec is refused naming the
    file, the field, the option and the methods that take it."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps({**BASE, "methods": ["greedy", "milp"], **extra}))
    with pytest.raises(ValueError) as err:
        load_spec(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: {field}: method \"greedy\" takes no option {json.dumps(option)}"), msg
    assert "fix:" in msg and "greedy takes seed, threads, time_limit;" in msg


@pytest.mark.parametrize("field", ["solver_methods", "seeded_methods"])
def test_unknown_names_in_the_method_lists_are_refused(field):
    with pytest.raises(ValueError, match=rf'spec: {field}: unknown method "mlip" \(fix: did you mean "milp"\? choose from "'):
        parse_spec({**BASE, "methods": ["milp"], field: ["mlip"]})


def test_method_lists_may_name_methods_the_spec_does_not_run():
    """The defaults (solver_methods milp, seeded_methods rl) hold for specs without those methods."""
    spec = parse_spec({**BASE, "methods": ["greedy"], "solvers": ["highs"], "seeds": [0, 1],
                       "solver_methods": ["milp", "plan-guided"], "seeded_methods": ["rl", "greedy"]})
    assert {r.seed for r in spec.runs()} == {0, 1} and all(r.solver is None for r in spec.runs())


@pytest.mark.parametrize("extra, field, option, axis", [
    ({"solvers": ["highs"], "method_options": {"milp": {"solver": "cbc"}}}, "method_options.milp.solver", "solver", "solvers"),
    ({"solvers": ["highs"], "options": {"solver": "cbc"}}, "options.solver", "solver", "solvers"),
    ({"formulations": ["compact"], "options": {"formulation": "tight"}}, "options.formulation", "formulation",
     "formulations"),
    ({"seeds": [0, 1], "seeded_methods": ["milp"], "method_options": {"milp": {"seed": 5}}}, "method_options.milp.seed",
     "seed", "seeds"),
])
def test_an_option_an_axis_gives_is_refused_elsewhere(extra, field, option, axis):
    """review17: options and method_options override the grid's axes (Run.solve_options), so
    `solvers = ["highs"]` with `method_options.milp.solver = "cbc"` ran CBC in records labelled
    highs, and seeds [0, 1] with a method_options seed ran one seed twice; now refused."""
    with pytest.raises(ValueError) as err:
        parse_spec({**BASE, "methods": ["milp"], **extra})
    msg = str(err.value)
    assert msg.startswith(f"spec: {field}: method \"milp\" gets {json.dumps(option)} from the {axis} axis"), msg
    assert "fix: remove it" in msg


def test_options_an_axis_does_not_give_still_pass():
    spec = parse_spec({**BASE, "methods": ["milp"], "options": {"solver": "cbc"}, "seeds": [0],
                       "method_options": {"milp": {"formulation": "compact", "seed": 3}}})
    assert [r.solve_options() for r in spec.runs()][0] == {"solver": "cbc", "formulation": "compact", "seed": 3, "threads": 1}
