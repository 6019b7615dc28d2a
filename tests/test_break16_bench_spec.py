"""A spec's fields are type-checked and its axes free of repeats when it is read (break16:
`instances = 5`, `options = "x"` with milp, `method_options = [1]`, `out = 5` and `figures_dir = 3`
each ended in a traceback (exit 3); `name = 5` and `method_options` for a method not in the
spec were taken silently; `methods = ["greedy", "greedy"]` ran the same run twice into one
record and reported "2 runs"; `wall_limit = 2` with `time_limit = 5` killed every run as a timeout)."""

from __future__ import annotations

import pytest

from optdist.bench.spec import parse_spec

from .conftest import ROOT

BASE = {"name": "t", "out": "o", "instances": [str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")],
        "methods": ["milp", "greedy"], "time_limit": 5}


@pytest.mark.parametrize("field, value, msg", [
    ("instances", 5, r"instances: entry 5 is not a non-empty string \(fix: write each entry in quotes\)"),
    ("instances", [5], r"instances: entry 5 is not a non-empty string"),
    ("instances", {"a": 1}, r'instances = \{"a": 1\} is not a list \(fix: give a list'),
    ("solvers", [""], r'solvers: entry "" is not a non-empty string'),
    ("seeds", 1.5, r"seeds = 1.5 is not a list \(fix: give a list, e.g. seeds = \[0, 1\]\)"),
    ("options", "x", r'options = "x" is not a table \(fix: write it as \[options\]'),
    ("method_options", [1], r"method_options = \[1\] is not a table"),
    ("method_options", {"greedy": 5}, r"method_options.greedy = 5 is not a table of options"),
    ("method_options", {"rl": {"episodes": 5}}, r'method_options for "rl", not among the methods "milp", "greedy"'),
    ("method_options", {"greedy": {"time_limit": -1}}, r"method_options.greedy: time_limit = -1 is out of range"),
    ("name", 5, r"name = 5 is not a non-empty string \(fix: write it in quotes"),
    ("out", 5, r"out = 5 is not a non-empty string"),
    ("out", " ", r'out = " " is not a non-empty string'),
    ("figures_dir", 3, r"figures_dir = 3 is not a non-empty string"),
    ("description", ["x"], r'description = \["x"\] is not a string'),
    ("methods", ["greedy", "greedy"], r'methods: "greedy" is listed twice \(fix: list each once'),
    ("solvers", ["highs", "highs"], r'solvers: "highs" is listed twice'),
    ("formulations", ["tight", "tight"], r'formulations: "tight" is listed twice'),
    ("seeds", [1, 1], r"seeds: 1 is listed twice"),
    ("options", {"time_limit": 9}, r"time_limit is given both as a field and in options \(5 and 9\) \(fix: keep one\)"),
    ("wall_limit", 2, r"wall_limit = 2 is not above time_limit = 5: the guard would kill those runs before their "
                      r"time limit \(fix: leave wall_limit out"),
])
def test_a_field_of_the_wrong_type_or_a_repeat_is_refused_naming_it(field, value, msg):
    with pytest.raises(ValueError, match=msg):
        parse_spec({**BASE, field: value}, "s.toml")


def test_accepted_forms_still_parse():
    spec = parse_spec({**BASE, "methods": "greedy", "seeds": [3], "figures_dir": None, "description": "",
                       "method_options": {"greedy": {}}, "instances": BASE["instances"] * 2})
    assert spec.methods == ("greedy",) and spec.seeds == (3,)
    assert len(spec.runs()) == 1  # one file listed twice is still one instance


def test_every_bundled_spec_still_parses():
    from optdist.bench.spec import load_spec

    for path in sorted((ROOT / "benchmarks/specs").glob("*.toml")):
        load_spec(path)


@pytest.mark.parametrize("pattern", ["instances/tiny", "instances/*"])
def test_a_pattern_matching_a_folder_is_refused_naming_it(pattern, monkeypatch):
    monkeypatch.chdir(ROOT)  # a folder is no instance: its run could only fail
    spec = parse_spec({**BASE, "instances": [pattern]})
    with pytest.raises(ValueError, match=r'matches the folder "instances/\w+", not an instance file \(fix: name its '
                                         r'files, e.g. "instances/\w+/\*.json"\)'):
        spec.runs()


def test_a_double_star_spans_folders(tmp_path, monkeypatch):
    import shutil

    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(BASE["instances"][0], tmp_path / "a" / "b" / "x.json")
    monkeypatch.chdir(tmp_path)  # without recursive=True, '**/*.json' matched one folder down only
    assert [r.instance_path for r in parse_spec({**BASE, "instances": ["**/*.json"], "methods": ["greedy"]}).runs()] \
        == ["a/b/x.json"]
