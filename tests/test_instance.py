"""Instance files: every problem reported with its JSON path and a fix; the bundled sets load."""

import json
import math
from pathlib import Path

import pytest

import optdist
from optdist import instance
from optdist.cli import main
from optdist.generate import generate, write_instances
from optdist.instance import NODE_FIELDS, RANGES, InstanceError, json_schema, load_instance, parse, validate_file
from tests.conftest import PAPER, ROOT, TINY, hand_doc


def problems_of(doc) -> dict[str, str]:
    with pytest.raises(InstanceError) as e:
        parse(doc, "doc")
    return {p.path: f"{p.message} | {p.fix}" for p in e.value.problems}


def test_every_problem_is_reported_at_once():
    doc = hand_doc()
    doc["tau"] = 1.5
    doc["devices"][0]["memory"] = -1
    doc["requests"][0]["cnn"] = "alexnet"  # semantic checks run on the parts that parsed (inst28)
    got = problems_of(doc)
    assert set(got) == {"tau", "devices[0].memory", "requests[0].cnn"}
    assert "(0, 1]" in got["tau"] and "bytes" in got["devices[0].memory"]


@pytest.mark.parametrize(
    "mutate,path,words",
    [
        (lambda d: d["requests"][0].update(cnn="alexnet"), "requests[0].cnn", "unknown CNN"),
        (lambda d: d["requests"][0].update(source="cam9"), "requests[0].source", "does not exist"),
        (lambda d: d["requests"][0].update(source="d1"), "requests[0].source", "it is a device"),
        (lambda d: d["devices"][1].update(type="raspberry"), "devices[1].type", "unknown device type"),
        (lambda d: d["devices"][2].pop("rate"), "devices[2].rate", "missing rate"),
        (lambda d: d["devices"][2].update(id="d0"), "devices[2].id", "duplicate node id"),
        (lambda d: d.update(privacy={}), "privacy", "no privacy table"),
        (lambda d: d.update(privacy={"lenet": "nope"}), "privacy.lenet", 'no privacy table "nope"'),
        (lambda d: d.pop("requests"), "requests", "required field missing"),
        (lambda d: d["sources"][0].update(memmory=5), "sources[0].memmory", 'unknown field "memmory" (value 5) in a source | did you mean "memory"?'),
        (lambda d: d.update(tau=0), "tau", "greater than 0"),
        (lambda d: d["objective"].update(kind="energy"), "objective.kind", "latency"),
    ],
)
def test_problem_paths_and_fixes(mutate, path, words):
    doc = hand_doc()
    mutate(doc)
    got = problems_of(doc)
    assert path in got, got
    assert words in got[path]
    assert "|" in got[path] and got[path].split("|")[1].strip()  # a non-empty fix


def test_bad_json_names_line(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('{"name": "x",\n "tau": }')
    (p,) = validate_file(f)
    assert p.path.startswith("line 2") and "JSON" in p.message


def test_catalog_defaults_and_period():
    doc = generate("g", {"lenet": 2}, {"rpi3": 2, "nexus": 1}, 0.8, period_s=0.5, sources=1)
    inst = parse(doc)
    assert inst.n_devices == 3 and inst.n_nodes == 4
    assert inst.mults_per_s[0] == 560e6 and inst.compute_capacity[2] == 800e6 * 0.5
    assert inst.bandwidth_capacity[0] == 9.025e6 * 0.5


def test_generator_is_seeded_and_splits_sources_by_cnn():
    a = generate("g", {"lenet": 30, "cifar": 10}, {"rpi3": 5}, 0.6, sources=8, seed=3)
    assert a == generate("g", {"lenet": 30, "cifar": 10}, {"rpi3": 5}, 0.6, sources=8, seed=3)
    assert a != generate("g", {"lenet": 30, "cifar": 10}, {"rpi3": 5}, 0.6, sources=8, seed=4)
    inst = parse(a)
    cnn_of_source = {}
    for r in range(inst.n_requests):
        cnn_of_source.setdefault(int(inst.request_source[r]), set()).add(inst.request_cnn[r])
    assert len(cnn_of_source) == 8 and all(len(c) == 1 for c in cnn_of_source.values())


def test_write_instances_validates_every_document_before_writing(tmp_path):
    good = generate("good", {"lenet": 1}, {"rpi3": 2}, 0.6, seed=0)
    bad = {**generate("bad", {"lenet": 1}, {"rpi3": 2}, 0.6, seed=0), "tau": 3.0}
    with pytest.raises(InstanceError, match="tau"):
        write_instances({"good": good, "bad": bad}, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    paths = write_instances({"good": good}, tmp_path / "out")
    assert [p.name for p in paths] == ["good.json"] and load_instance(paths[0]).name == "good"


def test_write_instances_checks_named_files_where_the_instance_is_written(tmp_path, monkeypatch):
    """fixes16: a privacy-table path was checked relative to the working directory, not to the
    folder the instance is written to (where loading it looks): a valid instance was refused,
    and one whose table sat in the working directory only was written and then failed to load."""
    table = ROOT / "models" / "privacy" / "lenet-paper.json"
    doc = {**generate("own", {"lenet": 1}, {"rpi3": 2}, 0.6, seed=0), "privacy": {"lenet": "mytable.json"}}
    out, cwd = tmp_path / "out", tmp_path / "cwd"
    out.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    (out / "mytable.json").write_text(table.read_text())  # beside the instance: valid
    [path] = write_instances({"own": doc}, out)
    assert load_instance(path).name == "own"
    (out / "mytable.json").rename(cwd / "mytable.json")  # in the working directory only: loading would fail
    with pytest.raises(InstanceError, match="mytable.json") as e:
        write_instances({"other": doc}, out)
    assert e.value.source == str(out / "other.json") and not (out / "other.json").exists()


@pytest.mark.parametrize("path", TINY + PAPER, ids=lambda p: p.stem)
def test_bundled_instances_load(path):
    inst = load_instance(path)
    assert inst.n_requests >= 1


def test_published_schema_is_current():
    from tests.conftest import ROOT

    assert json.loads((ROOT / "instances" / "schema.json").read_text()) == json.loads(json.dumps(json_schema()))


def test_schema_accepts_bundled_instances():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    for path in TINY + PAPER[:3]:
        jsonschema.validate(json.loads(path.read_text()), schema)


# Values that validated but crashed or overflowed later (issue 12 item 6): each kind is refused
# at validation, naming the field and a fix.
INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    "mutate,path,words",
    [
        (lambda d: d["devices"][0].update(compute_capacity=INF), "devices[0].compute_capacity", "finite"),
        (lambda d: d["devices"][1].update(bandwidth_capacity=INF), "devices[1].bandwidth_capacity", "never bind"),
        (lambda d: d["sources"][0].update(memory=INF), "sources[0].memory", "finite"),
        (lambda d: d.update(period_s=INF), "period_s", "finite"),
        (lambda d: d.update(period_s=1e-300), "period_s", "[1e-06, 1e+06]"),
        (lambda d: d["devices"][0].update(rate=1e-300), "devices[0].rate", "got 1e-300, out of range: it must be at least 1"),
        (lambda d: d["devices"][0].update(mults_per_s=1e-300), "devices[0].mults_per_s", "[1e+03, 1e+16]"),
        (lambda d: d["devices"][2].update(rate=1e300), "devices[2].rate", "it must be at most 1e+12"),
        (lambda d: d["devices"][0].update(compute_capacity=1e300), "devices[0].compute_capacity", "it must be at most 1e+22"),
        (lambda d: d["objective"].update(admission=True, rejection_penalty=INF), "objective.rejection_penalty", "finite"),
        (lambda d: d["objective"].update(shared_weight=NAN), "objective.shared_weight", "finite"),
        (lambda d: d.update(tau=NAN), "tau", "finite"),
        (lambda d: d["devices"][0].update(memory=True), "devices[0].memory", "got true (a boolean); expected bytes of memory, a number"),
        (lambda d: d.update(tau=True), "tau", "got true (a boolean); expected the tolerated SSIM"),
        (lambda d: d.update(period_s="1"), "period_s", 'got "1" (a string); expected the seconds'),
        (lambda d: d["objective"].update(admission=1), "objective.admission", 'got 1 (a number); expected true or false | write true, not 1: "admission": true'),
        (lambda d: d.update(defence={"lenet": {"epsilons": [1.0, INF]}}), "defence.lenet.epsilons[1]", "finite"),
        (lambda d: d.update(defence={"lenet": {"max_accuracy_drop_pct": 1e300}}), "defence.lenet.max_accuracy_drop_pct", "100"),
        (lambda d: d.update(defence={"lenet": {"cuts": ["conv9"]}}), "defence.lenet.cuts[0]", "not a layer"),
    ],
)
def test_values_that_would_crash_a_solve_are_refused(mutate, path, words):
    doc = hand_doc()
    mutate(doc)
    got = problems_of(doc)
    assert path in got, got
    assert words in got[path]
    assert got[path].split("|")[1].strip()


def _finite_result(inst, method: str, out) -> None:
    res = optdist.solve(inst, method=method, time_limit=20)
    assert res.objective is not None and math.isfinite(res.objective), (method, res.objective)
    assert res.bound is None or math.isfinite(res.bound)
    ev = res.evaluation
    assert all(math.isfinite(v) for v in ev.summary(inst).values() if isinstance(v, float))
    res.save(inst, out)
    json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} written to the result JSON"))


CORNERS = [(f, v) for f in NODE_FIELDS for v in RANGES[f] if v > 0 or f != "memory"] + [("period_s", v) for v in RANGES["period_s"]]


@pytest.mark.parametrize("field,value", CORNERS, ids=[f"{f}={v:g}" for f, v in CORNERS])
def test_every_accepted_extreme_solves_with_finite_numbers(field, value, tmp_path):
    """validate and solve accept the same documents: the edges of every range solve (greedy and MILP)."""
    doc = json.loads((ROOT / "instances" / "tiny" / "micro-3x2-admission.json").read_text())
    for node in doc["devices"] + doc["sources"] if field in NODE_FIELDS else []:
        node[field] = value
    if field == "period_s":
        doc["period_s"] = value
    inst = parse(doc, "corner")
    for method in ("greedy", "milp"):
        _finite_result(inst, method, tmp_path / f"{method}.json")


@pytest.mark.parametrize(
    "content,where,words",
    [
        (b"{\"name\": \"\x80\x81\"}", "(file)", "UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "(document)", "nested too deeply"),
        (b'{"tau": 1' + b"0" * 5000 + b"}", "(document)", "number"),
        (b'{"format": "optdist-instance/1", "name": "x", "tau": NaN}', "tau", "finite"),
    ],
    ids=["not-utf8", "deep", "digits", "nan-literal"],
)
def test_unreadable_instance_files_are_named_not_a_traceback(tmp_path, capsys, content, where, words):
    f = tmp_path / "bad.json"
    f.write_bytes(content)
    problems = {p.path: p for p in validate_file(f)}
    assert where in problems and words in problems[where].message and problems[where].fix
    assert main(["validate", str(f)]) == 1
    assert main(["solve", str(f)]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and "Traceback" not in err


def test_oversized_directory_and_device_files_are_refused_before_reading(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    big.write_text(json.dumps(hand_doc()))
    monkeypatch.setattr(instance, "MAX_BYTES", 100)
    (p,) = validate_file(big)
    assert p.path == "(file)" and "larger than the" in p.message
    (p,) = validate_file(tmp_path)
    assert "not a regular file" in p.message
    if Path("/dev/zero").exists():  # read naively, it never ends
        (p,) = validate_file("/dev/zero")
        assert "not a regular file" in p.message
