"""tidy29: one helper for each of the user messages' repeated jobs.

1. "Did you mean X?" came from ten calls of difflib with different cutoffs and case rules:
   :func:`optdist.names.closest` is the one. The unknown solver's and method's fix read
   "did you mean highs?; adapters: ..." ('?' then ';'): a new sentence follows the question.
2. Names were quoted as JSON in some messages and as Python (``'x'``) in others: JSON everywhere
   (:func:`optdist.jsonfile.text_of`), also in argparse's "invalid choice" that the CLI rewrites.
3. "A whole number" was written out in five places: :func:`optdist.options.is_whole`. The two
   functions named ``typed`` are :func:`optdist.jsonfile.json_text` and
   :func:`optdist.options.option_text`; the two "not a JSON object" problems are one function.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from optdist.assignment import made_for_other
from optdist.cli import main
from optdist.commands.core import _not_an_object
from optdist.instance import InstanceError, load_instance
from optdist.jsonfile import json_text, not_an_object, text_of
from optdist.names import CUTOFF, FEW_WORDS_CUTOFF, MANY_NAMES_CUTOFF, closest
from optdist.options import is_whole, option_text, take_whole
from optdist.solve import unknown_method
from optdist.solvers import get_solver, unknown_solver

from .conftest import ROOT

MICRO = str(ROOT / "instances/tiny/micro-1x3-tau0.6.json")


# 1. one close-match function ---------------------------------------------------------------------

def test_closest_names_the_close_name_and_none_where_nothing_is_close():
    assert closest("hihgs", ["cbc", "glpk", "highs", "scip"]) == "highs"
    assert closest("zzzq", ["cbc", "glpk", "highs", "scip"]) is None
    assert closest("anything", []) is None


def test_closest_compares_case_only_when_told_and_returns_the_name_as_listed():
    assert closest("HIGHS", ["highs", "scip"]) is None  # case counts by default
    assert closest("HIGHS", ["highs", "scip"], ignore_case=True) == "highs"
    assert closest("greedyy", ["Greedy", "milp"], ignore_case=True) == "Greedy"  # as ``names`` spells it


def test_closest_cutoff_is_the_least_likeness_offered():
    # "gapx" vs "gap": SequenceMatcher ratio 2*3/7 = 0.857
    assert closest("gapx", ["gap"], cutoff=0.86) is None
    assert closest("gapx", ["gap"], cutoff=0.85) == "gap"
    assert CUTOFF == 0.6  # difflib's own default, the one a site without its own reason takes
    assert closest("abcd", ["abxy"]) is None and closest("abcd", ["abxy"], cutoff=0.5) == "abxy"  # ratio 0.5


def test_closest_takes_what_the_user_wrote_even_where_it_is_no_text():
    """A number or null where a name goes (a JSON document's value): no match, no TypeError."""
    assert closest(5, ["a", "b"]) is None
    assert closest(None, ["None"]) == "None"  # compared as text
    assert closest("12", [10, 12]) == "12"


def _instance_problem(tmp_path, change) -> str:
    doc = json.loads(Path(MICRO).read_text())
    change(doc)
    path = tmp_path / "i.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InstanceError) as e:
        load_instance(path)
    return str(e.value)


def test_each_site_keeps_its_cutoff_for_a_reason(tmp_path, capsys):
    """Among many names alike in parts 0.6 offered wrong ones (MANY_NAMES_CUTOFF); among a field's
    few literal values a longer spelling is still offered (FEW_WORDS_CUTOFF)."""
    assert main(["solve", MICRO, "--cut", "1"]) == 2  # not "did you mean --out?"
    assert "(fix: leave them out; `optdist solve --help` lists the flags)" in capsys.readouterr().err
    assert main(["solve", MICRO, "--gapp", "1"]) == 2
    assert "did you mean --gap? " in capsys.readouterr().err
    with pytest.raises(ValueError) as e:  # not "did you mean time_limit?"
        get_solver("highs").check_raw_options({"node_limit": 5})
    assert 'HiGHS has no option "node_limit" (fix: a name from https://' in str(e.value), str(e.value)
    said = _instance_problem(tmp_path, lambda d: d["requests"][0].update(cnn="resnet"))  # not "did you mean lenet?"
    assert 'unknown CNN "resnet" (fix: use one of "cifar", ' in said, said
    said = _instance_problem(tmp_path, lambda d: d.update(objective={"kind": "end_to_end_latency"}))  # ratio 0.56
    assert 'did you mean "kind": "latency"? use "latency" or "makespan"' in said, said
    assert closest("resnet", ["cifar", "lenet", "micro", "vgg16"]) == "lenet"  # what 0.6 would have said
    assert closest("resnet", ["cifar", "lenet", "micro", "vgg16"], cutoff=MANY_NAMES_CUTOFF) is None
    assert closest("convolution", ["conv", "fc"]) is None and closest("convolution", ["conv", "fc"], cutoff=FEW_WORDS_CUTOFF) == "conv"


# 1b. "did you mean X?" then a new sentence --------------------------------------------------------

def test_the_unknown_solver_message_has_no_question_mark_then_semicolon():
    said = unknown_solver("hihgs")
    assert "?;" not in said and said.startswith('unknown solver "hihgs" (fix: did you mean highs? The adapters: '), said
    flagged = unknown_solver("hihgs", "--solver")
    assert "?;" not in flagged and "(fix: did you mean --solver highs? The adapters: cbc, " in flagged, flagged
    far = unknown_solver("zzzq")  # no question: the list follows the example after a ';', as before
    assert "(fix: give an adapter or a profile, e.g. highs; adapters: cbc, " in far and far.endswith("/solvers/NAME.toml (another folder: set OPTDIST_SOLVERS), or give a profile by path, e.g. ./mine.toml)")
    with pytest.raises(ValueError) as e:
        get_solver("hihgs")
    assert "?;" not in str(e.value) and "did you mean highs? The adapters: " in str(e.value)


def test_the_unknown_method_message_has_no_question_mark_then_semicolon(capsys):
    assert "?;" not in unknown_method("greedyy") and "(fix: did you mean greedy? The methods: " in unknown_method("greedyy")
    assert unknown_method("zzzq").startswith('unknown method "zzzq" (fix: e.g. milp; the methods: ')
    assert main(["solve", MICRO, "--method", "greedyy"]) == 2
    err = capsys.readouterr().err
    assert "?;" not in err and "did you mean --method greedy? The methods: " in err, err


def _strings(tree: ast.AST) -> list[str]:
    """The string constants of a module that are no docstrings (the pieces of its messages)."""
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body and isinstance(node.body[0], ast.Expr)}
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_no_message_site_left_with_question_mark_then_semicolon():
    """No string piece of optdist's messages puts a ';' after the '?' of "did you mean X?"."""
    for path in (ROOT / "optdist").rglob("*.py"):
        pieces = _strings(ast.parse(path.read_text()))
        assert not [p for p in pieces if p.startswith("?;") or "did you mean" in p and "?;" in p], path


# 2. one quoting -----------------------------------------------------------------------------------

def test_made_for_another_instance_quotes_the_names_as_json():
    inst = load_instance(MICRO)
    other = 'other\'s "net"'
    said = made_for_other({"instance": other}, inst)
    assert said == f"made for instance {json.dumps(other)}, not {json.dumps(inst.name)}", said
    assert said == 'made for instance "other\'s \\"net\\"", not "micro-1x3-tau0.6"', said


def test_argparse_invalid_choice_is_quoted_as_json(capsys):
    assert main(["solve", MICRO, "--formulation", "tigt"]) == 2
    err = capsys.readouterr().err
    assert ('argument --formulation: invalid choice: "tigt" (choose from "auto", "decomposed", "compact", "per-map", '
            '"tight") (fix: did you mean --formulation tight?)') in err, err
    assert "'" not in err, err
    assert main(["slove"]) == 2
    err = capsys.readouterr().err
    assert 'invalid choice: "slove" (choose from "profile", ' in err and "did you mean solve? " in err and "'" not in err


def test_the_highs_refusal_quotes_a_text_value_as_json():
    with pytest.raises(ValueError) as e:
        get_solver("highs").check_raw_options({"presolve": "bogus"})
    assert 'HiGHS refuses presolve = "bogus" (a text option' in str(e.value), str(e.value)


def test_a_result_of_another_format_version_is_named_in_json_quotes(tmp_path, capsys):
    result = tmp_path / "r.json"
    result.write_text(json.dumps({"format": "optdist-result/9", "assignment": {}}))
    assert main(["evaluate", MICRO, str(result)]) == 2
    err = capsys.readouterr().err
    assert 'format: is "optdist-result/9", a result format this optdist does not read (it reads "optdist-result/1")' in err, err


#: raises that keep Python's repr on purpose: a Python convention (AttributeError), bytes read from a
#: file, an exception object, a programming error (StallStop's arguments)
REPR_KEPT = {"optdist/__init__.py", "optdist/checkpoint.py", "optdist/cli.py", "optdist/rl/env.py",
             "optdist/solvers/highs.py"}


def _repr_in_raises(tree: ast.AST) -> list[int]:
    """Lines of ``raise`` statements and ``Problem(...)`` reports (a file's problem: path, what, fix)
    whose message formats a value with ``!r`` (break42: two Problems did, unseen by the raises' check)."""
    def reports(node: ast.AST) -> bool:
        return isinstance(node, ast.Raise) or (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Problem")

    return [node.lineno for node in ast.walk(tree) if reports(node)
            for v in ast.walk(node) if isinstance(v, ast.FormattedValue) and v.conversion == ord("r")]


def test_no_error_message_quotes_with_python_repr():
    found = {}
    for path in sorted((ROOT / "optdist").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in REPR_KEPT:
            continue
        if lines := _repr_in_raises(ast.parse(path.read_text())):
            found[rel] = lines
    assert not found, found


def test_a_spec_value_is_quoted_as_toml_and_json_write_it():
    from optdist.bench.spec import parse_spec
    from optdist.jsonfile import value_text

    assert value_text(float("inf")) == "inf" and value_text(float("-inf")) == "-inf" and value_text(float("nan")) == "nan"
    assert value_text("5") == '"5"' and value_text(True) == "true" and value_text([0, "a"]) == '[0, "a"]'
    base = {"name": "t", "out": "o", "instances": [MICRO], "methods": ["greedy"]}
    with pytest.raises(ValueError) as e:
        parse_spec({**base, "time_limit": "5"}, "f.toml")
    assert str(e.value) == 'f.toml: time_limit = "5" is not a number (fix: give a number, e.g. time_limit = 5.0)'
    with pytest.raises(ValueError) as e:
        parse_spec({**base, "seeds": [True]}, "f.toml")
    assert str(e.value).startswith("f.toml: seeds = [true]: true is not a whole number"), str(e.value)


def test_text_of_is_json_as_typed():
    assert text_of("τ") == '"τ"' and text_of("a'b") == '"a\'b"' and text_of("x\u202ey") == '"x\\u202ey"'


# 3. one whole-number rule, two names that say what they do, one "not an object" ------------------

@pytest.mark.parametrize("value, whole, integral", [
    (100, True, True), (1e2, True, False), (2.0, True, False), (2.5, False, False), (True, False, False),
    (False, False, False), ("3", False, False), (None, False, False), (float("inf"), False, False),
    (float("nan"), False, False), (10**400, True, True), (np.int64(7), True, True), (np.float64(3.0), True, False),
])
def test_is_whole(value, whole, integral):
    assert is_whole(value) is whole
    assert is_whole(value, integral=True) is integral


def test_the_whole_number_rule_is_the_one_every_reader_follows(tmp_path, capsys):
    assert take_whole(1e2) == (100, None) and take_whole(2.5)[1] == "not a whole number"
    assert take_whole(True)[1] == "not a whole number" and take_whole("3")[1] == "not a whole number"
    # the CLI's whole-number flags: 1e2 is 100, 2.5 is refused
    assert main(["solve", MICRO, "--threads", "2.5"]) == 2
    assert "--threads 2.5 is not a whole number" in capsys.readouterr().err
    # a JSON document's count: an integer literal only (2.0: "write it without the decimal point")
    from optdist.privacy import PrivacyTable, PrivacyTableError

    doc = {"format": "optdist-privacy-table/1", "cnn": "micro", "name": "t",
           "rows": [{"tensor": "ReLU1", "maps": 2.0, "cells": {"1": 0.5}}]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PrivacyTableError) as e:
        PrivacyTable.load(path)
    assert [(p.path, p.fix) for p in e.value.problems] == [("rows[0].maps", 'write it without the decimal point: "maps": 2')]
    doc["rows"][0]["maps"] = 2
    path.write_text(json.dumps(doc))
    assert PrivacyTable.load(path).rows[0].maps == 2


def test_the_two_typed_functions_have_names_that_say_what_they_write():
    assert json_text("abc") == '"abc"' and json_text(True) == "true" and json_text([1, "a"]) == '[1, "a"]'
    assert option_text("abc") == "abc" and option_text(True) == "true" and option_text(2.5) == "2.5"
    assert len(json_text("x" * 100)) < 100  # shortened past its limit


def test_one_not_an_object_problem_for_a_known_kind_and_for_none(tmp_path):
    known = not_an_object([{"a": 1}], "the instance", "wrap it")
    assert known.message == 'got [{"a": 1}] (a list); the instance must be a JSON object'
    assert known.fix == "remove the square brackets around the object: a file holds one instance"
    assert not_an_object(5, "the instance", "wrap it").fix == "wrap it"
    unknown = not_an_object([{"format": "optdist-device-catalog/1"}])
    assert unknown.message.startswith("got [") and "every optdist document (instance, privacy table" in unknown.message
    assert unknown.fix == "remove the square brackets around the object: a file holds one device catalog"
    by_name = tmp_path / "my-table.json"
    by_name.write_text("[1, 2]")
    said = _not_an_object(by_name)
    assert said.message.endswith("; the file's name suggests a privacy table"), said.message
    assert said.fix.startswith('write the privacy table as one object: {"format": "optdist-privacy-table/1"')
    obj = tmp_path / "obj.json"
    obj.write_text("{}")
    assert _not_an_object(obj) is None


def test_optdist_validate_of_a_list_names_the_kind_its_items_say(tmp_path, capsys):
    f = tmp_path / "x.json"
    f.write_text(json.dumps([{"format": "optdist-instance/1"}]))
    assert main(["validate", str(f)]) != 0
    out = capsys.readouterr()
    assert "remove the square brackets around the object: a file holds one instance" in out.out + out.err

