"""Assignment, solution and policy files that ended in tracebacks or huge allocations: clear errors (issue 12 item 6)."""

from __future__ import annotations

import json
import pickle
import tracemalloc
from functools import cache

import pytest

import optdist
from optdist.assignment import Assignment, AssignmentError
from optdist.cli import main
from optdist.generate import generate
from optdist.instance import load_instance
from optdist.milp import build
from optdist.milp.export import SolutionFileError, load_solution, read_solution, write_model
from tests.conftest import ROOT

TINY_DIR = ROOT / "instances" / "tiny"
MICRO = TINY_DIR / "micro-1x3-tau0.6.json"


@cache
def micro():
    return load_instance(MICRO)


@cache
def greedy_doc() -> dict:
    return optdist.solve(micro(), method="greedy").assignment.to_json(micro())


def _with_layer(value) -> dict:
    doc = json.loads(json.dumps(greedy_doc()))
    doc["requests"]["r1"]["layers"]["conv1"] = value
    return doc


@pytest.mark.parametrize(
    "doc,where,words",
    [
        ([], "(document)", "JSON object"),
        ({**greedy_doc(), "requests": []}, "requests", "map request ids"),
        ({**greedy_doc(), "requests": {"r1": "x"}}, "requests.r1", "JSON object"),
        ({**greedy_doc(), "requests": {"r1": {"rejected": 1}}}, "requests.r1.rejected", "not a boolean"),
        ({**greedy_doc(), "requests": {"r1": {"rejected": True}, "r9": {"rejected": True}}}, "requests.r9", "not a request"),
        ({**greedy_doc(), "meta": 5}, "meta", "JSON object"),
        # fixes17: a request marked rejected that also gives layers was read as rejected, its layers dropped
        ({**greedy_doc(), "requests": {"r1": {**greedy_doc()["requests"]["r1"], "rejected": True}}}, "requests.r1",
         "marked rejected and also gives layers"),
        (_with_layer([["cam1", 200_000_000]]), "requests.r1.layers.conv1[0]", "count 200000000 is out of range: the layer has 1 segment"),
        (_with_layer([["cam1", -1]]), "requests.r1.layers.conv1[0]", "not positive"),
        (_with_layer([["cam1", 1.0]]), "requests.r1.layers.conv1[0]", "count 1.0 is not a whole number"),
        (_with_layer([["cam1", True]]), "requests.r1.layers.conv1[0]", "not [node_id, count]"),
        (_with_layer([{"a": 1}]), "requests.r1.layers.conv1[0]", "unknown node id"),
        (_with_layer([["nope", 1]]), "requests.r1.layers.conv1[0]", "unknown node id"),
        (_with_layer("cam1"), "requests.r1.layers.conv1", "not a list"),
        (_with_layer([]), "requests.r1.layers.conv1", "0 owners for 1 segment"),
    ],
)
def test_bad_assignments_name_the_field(tmp_path, capsys, doc, where, words):
    f = tmp_path / "a.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(AssignmentError) as e:
        Assignment.load(micro(), f)
    (p,) = e.value.problems
    assert p.path == where and words in p.message and p.fix
    assert main(["evaluate", str(MICRO), str(f)]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and where in err and "Traceback" not in err


def test_a_tiny_file_with_a_huge_run_is_refused_before_expanding(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps(_with_layer([["cam1", 200_000_000]])))
    assert f.stat().st_size < 400
    tracemalloc.start()
    with pytest.raises(AssignmentError, match="count 200000000 is out of range: the layer has 1 segment"):
        Assignment.load(micro(), f)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20  # the old reader built a 2e8-item list (GBs) before comparing


def test_good_assignment_round_trips(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(json.dumps(greedy_doc()))
    back = Assignment.load(micro(), f)
    assert Assignment.from_json(micro(), back.to_json(micro())).to_json(micro()) == greedy_doc()


# Solution files of `optdist import-solution`.
def _model_and_solution(tmp_path):
    import highspy

    model, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    write_model(build(micro()), model)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(model))
    h.run()
    h.writeSolution(str(sol), 0)
    return model, sol


def _import(model, sol, fmt="highs") -> list[str]:
    return ["import-solution", str(MICRO), "--model-file", str(model), "--solution", str(sol), "--format", fmt]


@pytest.mark.parametrize(
    "fmt,text,where,words",
    [
        ("highs", "# Columns x\n", "line 1", "column count"),
        ("highs", "# Columns 5\nn(0_0_0) 1\n", "line 1", "declares 5 columns"),
        ("highs", "# Columns 1\nlonely\n", "line 2", "not 'name value'"),
        ("highs", "# Columns 1\nn(0_0_0) nan\n", "line 2", "not a finite number"),
        ("highs", "# Columns 1\nn(0_0_0) abc\n", "line 2", "not a finite number"),
        ("cbc", "Optimal - objective value 1\n0 n(0_0_0) inf 0\n", "line 2", "not a finite number"),
        ("glpk", "Column name\n---\n 1 n(0_0_0)\n   *\n", "line 4", "no value"),
        ("glpk", "Column name\n---\n 1\n", "line 3", "no column name"),
        ("sol", "n(0_0_0) 1e400\n", "line 1", "not a finite number"),
        ("cbc", "garbage\n", "line 1", "status line"),
    ],
)
def test_bad_solution_files_name_the_line(tmp_path, capsys, fmt, text, where, words):
    sol = tmp_path / "s.txt"
    sol.write_text(text)
    with pytest.raises(SolutionFileError) as e:
        read_solution(sol, fmt)
    (p,) = e.value.problems
    assert p.path == where and words in p.message and p.fix
    model = tmp_path / "m.lp"
    write_model(build(micro()), model)
    assert main(_import(model, sol, fmt)) == 2
    err = capsys.readouterr().err
    assert str(sol) in err and "Traceback" not in err


def test_solution_values_outside_their_domain_or_breaking_an_equality_are_refused(tmp_path, capsys):
    model, sol = _model_and_solution(tmp_path)
    lines = sol.read_text().splitlines()
    start = next(n for n, ln in enumerate(lines) if ln.startswith("# Columns"))
    n_line = next(n for n in range(start + 1, len(lines)) if lines[n].startswith("n(") and float(lines[n].split()[1]) == 1)
    name = lines[n_line].split()[0]
    for value, words in (("0.5", "not an integer"), ("0", "not met")):
        lines[n_line] = f"{name} {value}"
        sol.write_text("\n".join(lines) + "\n")
        with pytest.raises(SolutionFileError, match=words):
            load_solution(build(micro()), read_solution(sol, "highs"))
        assert main(_import(model, sol)) == 2  # was a RuntimeError traceback ("owns 0 of 1 segments")
        err = capsys.readouterr().err
        assert str(sol) in err and words in err and "Traceback" not in err


def test_unreadable_solution_files(tmp_path, capsys):
    model, _ = _model_and_solution(tmp_path)
    binary = tmp_path / "b.sol"
    binary.write_bytes(b"\x80\x81\x82")
    for sol in (binary, tmp_path):
        with pytest.raises(SolutionFileError):
            read_solution(sol, "highs")
        assert main(_import(model, sol)) == 2
        assert "Traceback" not in capsys.readouterr().err


# Policies of `optdist solve --method rl --policy`.
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory):
    from optdist.rl.presets import PRESETS
    from optdist.rl.train import save_policy, train

    inst = load_instance(TINY_DIR / "lenet-1x4-tau0.6.json")
    return save_policy(train(inst, PRESETS["lenet"], episodes=2, masked=True, progress=False),
                       tmp_path_factory.mktemp("policy"))


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def _variant(src, dst, config=None, weights=None):
    dst.mkdir()
    cfg = json.loads((src / "policy.json").read_text())
    (dst / "policy.json").write_text(json.dumps(config(cfg) if config else cfg))
    if weights is None:
        (dst / "policy.pt").write_bytes((src / "policy.pt").read_bytes())
    else:
        weights(dst / "policy.pt", torch.load(src / "policy.pt", weights_only=True))
    return dst


@pytest.mark.parametrize(
    "config,weights,where,words",
    [
        (lambda c: {**c, "hidden": [1_000_000, 1_000_000]}, None, "hidden[0]", "got 1000000, out of range: it must be at most 4096"),
        (lambda c: {**c, "hidden": [64, 32]}, None, "hidden", "[64, 32], but policy.pt was trained with [64, 64]"),
        (lambda c: {**c, "hidden": [True]}, None, "hidden[0]", "got true (a boolean); expected a whole number"),
        (lambda c: [1], None, "(document)", "JSON object"),
        (lambda c: {k: v for k, v in c.items() if k != "masked"}, None, "masked", "required field missing"),
        (None, lambda p, sd: torch.save({"x": _Evil()}, p), "(file)", "refused by torch.load(weights_only=True)"),
        (None, lambda p, sd: p.write_bytes(pickle.dumps(_Evil())), "(file)", "weights_only"),
        (None, lambda p, sd: p.write_bytes(b""), "(file)", "not a PyTorch file"),
        (None, lambda p, sd: torch.save({k: v * float("nan") for k, v in sd.items()}, p), "mlp.0.weight", "not finite"),
        (None, lambda p, sd: torch.save(list(sd.values()), p), "(file)", "not a state_dict"),
    ],
    ids=["huge-hidden", "shape-mismatch", "bool-width", "not-object", "missing-field", "pickled-object",
         "raw-pickle", "empty", "nan-weights", "not-a-dict"],
)
def test_bad_policies_are_clear_errors_before_allocating(policy_dir, tmp_path, capfd, config, weights, where, words):
    from optdist.rl.policy import PolicyError, load_policy

    bad = _variant(policy_dir, tmp_path / "p", config, weights)
    with pytest.raises(PolicyError) as e:
        load_policy(bad)
    (p, *_) = e.value.problems
    assert p.path == where and words in p.message and p.fix
    assert "weights_only=False" not in p.message + p.fix  # never advise loading pickled objects
    rc = main(["solve", str(TINY_DIR / "lenet-1x4-tau0.6.json"), "--method", "rl", "--policy", str(bad)])
    out, err = capfd.readouterr()
    assert rc == 2 and str(bad) in err and "Traceback" not in err
    assert "this must never run" not in out + err


def test_train_rl_episodes_and_generate_counts_are_range_checked(capsys):
    assert main(["train-rl", str(TINY_DIR / "lenet-1x4-tau0.6.json"), "--episodes", "0"]) == 2
    assert "--episodes 0 is out of range" in capsys.readouterr().err  # was a KeyError 'episode'
    with pytest.raises(ValueError, match=r"requests lenet=100000000000: give a whole number"):
        generate("g", {"lenet": 10**11}, {"rpi3": 2}, 0.6)
    with pytest.raises(ValueError, match="sources count=0"):
        generate("g", {"lenet": 1}, {"rpi3": 2}, 0.6, sources=0)


def test_a_result_file_whose_request_is_rejected_and_placed_is_refused_naming_the_fix(tmp_path, capsys):
    """fixes17: the same conflict inside a result file (optdist solve --out) given to evaluate."""
    doc = json.loads(json.dumps(greedy_doc()))
    doc["requests"]["r1"]["rejected"] = True
    f = tmp_path / "result.json"
    f.write_text(json.dumps({"format": "optdist-result/1", "assignment": doc}))
    assert main(["evaluate", str(MICRO), str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}: assignment" in err and "requests.r1: is marked rejected and also gives layers" in err
    assert 'remove its "layers"' in err and 'remove "rejected": true' in err


@pytest.mark.parametrize("layers", [{}, None])
def test_a_rejected_request_with_empty_layers_is_read_as_rejected(layers):
    """review17: ``{"rejected": true, "layers": {}}`` (or ``null``) places nothing, so nothing is
    dropped and nothing conflicts: read as rejected, as before fixes17, which refused it as "also
    gives layers (a placement)". Non-empty layers stay an error (the parametrised case above)."""
    doc = json.loads(json.dumps(greedy_doc()))
    doc["requests"]["r1"] = {"rejected": True, "layers": layers}
    assert Assignment.from_json(micro(), doc).owners == [None]
    doc["requests"]["r1"] = {"rejected": True, "layers": {"conv1": []}}  # a layer named: still a conflict
    with pytest.raises(AssignmentError, match="requests.r1: is marked rejected and also gives layers"):
        Assignment.from_json(micro(), doc)
