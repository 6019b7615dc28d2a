"""inst28: instance messages a fresh user met. A quoted number is answered with its unquoted text
only when that text is JSON and in range; a number past float range is out of range; validate
reports the problems of meaning next to the type problems; defence options written without their
CNN say that defence maps each CNN to its options; names and keys are shown as typed, escaped
where they could not be read; the JSON syntax hint fits the syntax error."""

from __future__ import annotations

import json

import pytest

from optdist.cli import main
from optdist.instance import InstanceError, load_instance
from tests.conftest import ROOT

LENET = ROOT / "instances" / "paper" / "lenet-1x10-tau0.6.json"


def _write(tmp_path, mutate=None, text=None, name="bad.json"):
    path = tmp_path / name
    if text is None:
        doc = json.loads(LENET.read_text())
        mutate(doc)
        text = json.dumps(doc, indent=1, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path) -> list[str]:
    with pytest.raises(InstanceError) as e:
        load_instance(path)
    return [str(p) for p in e.value.problems]


# --- item 1: "write the number without quotes" only with valid, in-range JSON --------------------

MEM = "devices[0].memory: got {} (a string); expected bytes of memory, a number in (0, 1e+15] (fix: {})"
MEM_EG = 'e.g. "memory": 1073741824 for 1 GiB'


@pytest.mark.parametrize("typed, fix", [
    ("1_000", f"write one number, without quotes, {MEM_EG}"),  # before: fix "memory": 1_000 (invalid JSON)
    ("5.", f"write one number, without quotes, {MEM_EG}"),  # before: "memory": 5.
    ("\u0663", f"write one number, without quotes, {MEM_EG}"),  # before: "memory": ٣
    ("-5", f"write a number in that range, without quotes, {MEM_EG}"),  # before: "memory": -5 (out of range)
    ("2e15", f"write a number in that range, without quotes, {MEM_EG}"),
    (" 1e9 ", 'write the number without quotes: "memory": 1e9'),  # valid and in range: still offered
])
def test_a_quoted_number_is_offered_unquoted_only_when_valid_json_and_in_range(tmp_path, typed, fix):
    path = _write(tmp_path, lambda d: d["devices"][0].update(memory=typed))
    assert _problems(path) == [MEM.format(json.dumps(typed, ensure_ascii=False), fix)]


def test_a_quoted_tau_out_of_range_gets_the_example(tmp_path):
    """Before: fix 'write the number without quotes: "tau": -0.6', whose following gave the next error."""
    path = _write(tmp_path, lambda d: d.update(tau="-0.6"))
    assert _problems(path) == ['tau: got "-0.6" (a string); expected the tolerated SSIM of an inversion attack, a '
                               'number in (0, 1] (fix: write a number in that range, without quotes, e.g. "tau": 0.6)']


def test_an_integer_past_float_range_is_out_of_range(tmp_path):
    """Before: '... (a number); expected ... (fix: write one number, without quotes, ...)' of a number."""
    path = _write(tmp_path, text=LENET.read_text().replace('"type": "rpi3"', '"type": "rpi3", "memory": 1' + "0" * 400, 1))
    [p] = _problems(path)
    assert p.startswith("devices[0].memory: got 1000000"), p
    assert p.endswith("(401 characters), out of range; expected bytes of memory, a number in (0, 1e+15] "
                      "(fix: give the memory in bytes as a number in (0, 1e+15], e.g. 1073741824 for 1 GiB)"), p


# --- item 2: validate reports the problems of meaning next to the type problems ------------------

UNKNOWN_TYPE = 'devices[0].type: unknown device type "zz"'


def _validate(capsys, path) -> str:
    assert main(["validate", str(path)]) == 1
    return capsys.readouterr().out


@pytest.mark.parametrize("mutate, shown", [
    (lambda d: (d.update(tau="x"), d["devices"][0].update(type="zz")),  # /tmp/b28/two_a.json
     ["tau: got \"x\"", UNKNOWN_TYPE]),
    (lambda d: (d.update(tau="x", foo=1), d["devices"][0].update(type="zz"), d["devices"][1].update(memory="y"),
                d["requests"][0].update(cnn=5)),  # many_problems.json
     ["tau: got", "devices[1].memory: got", "requests[0].cnn: got 5", 'foo: unknown field "foo"', UNKNOWN_TYPE]),
    (lambda d: (d["devices"][1].update(memory="y"), d["requests"][0].update(cnn="lenett")),
     ["devices[1].memory: got", 'requests[0].cnn: unknown CNN "lenett"']),
    (lambda d: (d.update(tau="x"), d["requests"][0].update(source="camX")),
     ["tau: got", 'requests[0].source: source "camX" does not exist']),
    (lambda d: (d.update(tau="x"), d["privacy"].update(lenet="papr")),
     ["tau: got", 'privacy.lenet: no privacy table "papr" for lenet']),
    (lambda d: (d["devices"].__setitem__(0, "rpi3"), d["devices"][1].update(type="zz")),
     ['devices[0]: got "rpi3"', 'devices[1].type: unknown device type "zz"']),
])
def test_validate_reports_meaning_problems_next_to_type_problems(tmp_path, capsys, mutate, shown):
    """Before: only the type problems (tau "x" hid devices[0].type "zz", an unknown CNN, a missing
    source, a wrong privacy table name)."""
    out = _validate(capsys, _write(tmp_path, mutate))
    lines = [line.strip() for line in out.splitlines() if not line.startswith("      fix:")][1:]
    assert len(lines) == len(shown) and all(line.startswith(s) for line, s in zip(lines, shown)), out
    assert f"INVALID, {len(shown)} problem(s)" in out and "note:" not in out


def test_a_stand_in_is_never_reported(tmp_path, capsys):
    """A request whose CNN or source is of the wrong kind, a node whose type is, a privacy entry
    that is: reported once, as a type problem, not again as an unknown CNN/source/type/table."""
    def mutate(d):
        d["requests"][0].update(cnn=5, source=7, id=3)
        d["devices"][0].update(type=4, id=5)
        d["privacy"].update(lenet=1)
        d["devices"][1].pop("type")  # and a meaning problem that stays: no numbers, no type
    out = _validate(capsys, _write(tmp_path, mutate))
    assert "INVALID, 9 problem(s)" in out and "not parsed" not in out and "unknown" not in out, out
    assert "devices[1].memory: missing memory (no catalog type gives it)" in out, out


@pytest.mark.parametrize("wrong", [
    lambda d: d.update(sources="cam1"), lambda d: d["sources"].__setitem__(0, "cam1"),
    lambda d: d["sources"][0].update(id=1), lambda d: d.update(networks=["mynet.json"]),
    lambda d: d.update(devices_catalog=5)])
def test_validate_says_what_it_did_not_check(tmp_path, capsys, wrong):
    """Where nothing stands in for the wrong value (the sources the requests name, networks,
    devices_catalog), the meaning checks wait, and validate says so (no "source does not exist")."""
    out = _validate(capsys, _write(tmp_path, lambda d: (wrong(d), d["devices"][0].update(type="zz"))))
    assert "INVALID, 1 problem(s)" in out and "  note: the checks of meaning (device types, sources, CNNs, privacy " \
        "tables, defences) run once these are fixed: validate again then" in out, out


# --- item 3: defence options written without their CNN ---------------------------------------------

def test_defence_options_without_their_cnn(tmp_path):
    """Before: 'defence.mode: ... (fix: write an object, in braces, e.g. "mode": {"mode": "auto"})'."""
    path = _write(tmp_path, lambda d: d.update(defence={"mode": "foo", "cuts": 3}))
    assert _problems(path) == [
        f'defence.{k}: got {v} ({kind}); expected an object of defence options (fix: "{k}" is a defence option, not a '
        'CNN: "defence" maps each CNN to its options, in braces, e.g. "defence": {"lenet": {"mode": "auto"}})'
        for k, v, kind in (("mode", '"foo"', "a string"), ("cuts", "3", "a number"))]


def test_defence_fixes_are_json(tmp_path):
    """Before: "no request uses CNN 'vgg16' (fix: use one of ['lenet'] or remove the entry)"."""
    path = _write(tmp_path, lambda d: d.update(defence={"vgg16": {"mode": "auto"}}))
    assert _problems(path) == ['defence.vgg16: no request uses CNN "vgg16" (fix: key the options by a CNN of the '
                               'requests ("lenet"), e.g. "defence": {"lenet": {"mode": "auto"}}, or remove the entry)']
    path = _write(tmp_path, lambda d: d.update(defence={"lenet": {"cuts": ["conv9"]}}))
    assert _problems(path) == ['defence.lenet.cuts[0]: "conv9" is not a layer of lenet (fix: use layers of lenet: '
                               '"conv1", "ReLU1", "pool1", "conv2", "ReLU2", "pool2", "fc1", "fc2", "fc3")']


# --- item 4: as typed, escaped where unreadable; the syntax hint fits the error ----------------------

def test_an_unknown_key_is_echoed_as_typed(tmp_path):
    """Before: 'τ: unknown field "\\u03c4" (value 0.6) in the instance'."""
    [p] = _problems(_write(tmp_path, lambda d: d.update({"τ": 0.6})))
    assert p.startswith('τ: unknown field "τ" (value 0.6) in the instance (fix: '), p


def test_a_number_literal_past_float_range_is_echoed_as_typed(tmp_path):
    """Before: 'tau: got Infinity, not a finite number; ...' of a file that says 1e400."""
    path = _write(tmp_path, text=LENET.read_text().replace('"tau": 0.6', '"tau": 1e400'))
    assert _problems(path) == ["tau: got 1e400, out of range; expected the tolerated SSIM of an inversion attack, a "
                               "number in (0, 1] (fix: give the tolerated SSIM as a number in (0, 1], e.g. 0.8 (low "
                               "privacy) or 0.4 (high))"]


def test_an_empty_network_path_is_named_so(tmp_path):
    """Before: 'networks.mine (/tmp/b28: (file)): not a regular file (a directory, device or pipe)'."""
    path = _write(tmp_path, lambda d: d.update(networks={"mine": ""}))
    assert _problems(path) == ['networks.mine: empty path "" (fix: give the path of the profile file relative to the '
                               'instance file, e.g. "mine": "mine.profile.json")']


def test_a_name_with_invisible_characters_is_refused_and_echoed_escaped(tmp_path, capsys):
    """Before: valid, and `optdist solve` printed the NUL, line break and right-to-left override raw."""
    path = _write(tmp_path, lambda d: d.update(name="ñ\u202e\u0000x\n\ty"))
    assert _problems(path) == ['name: name "ñ\\u202e\\u0000x\\n\\ty" holds control or invisible characters (fix: '
                               'write the name in visible characters, e.g. "name": "lenet-1x10")']
    out = _validate(capsys, _write(tmp_path, lambda d: d.update({"b\u202ead": 1})))
    assert "\u202e" not in out and 'unknown field "b\\u202ead"' in out, out


@pytest.mark.parametrize("before, after, fix", [
    ('"type": "rpi3"\n  }\n ]', '"type": "rpi3"\n  },\n ]', "remove the comma before the closing bracket: JSON allows no comma after the last entry"),
    ('"tau": 0.6,', '"tau": 0.6, // the privacy level', 'remove the comment: JSON has no comments (put a note in a '
     '"description" field)'),
    ('"tau": 0.6', '"tau": .6', "write a digit before the decimal point, e.g. 0.6 for .6"),
    ('"tau": 0.6', "'tau': 0.6", "write strings and keys in double quotes, e.g. \"tau\", not 'tau'"),
    ('"tau": 0.6,', '"tau": 0.6 "x": 1,', "fix the JSON syntax (a missing comma or quote?)"),
])
def test_the_syntax_hint_fits_the_error(tmp_path, before, after, fix):
    """Before: every one of them got 'fix the JSON syntax (a missing comma or quote?)'."""
    good = json.dumps(json.loads(LENET.read_text()), indent=1)
    text = good.replace(before, after, 1)
    assert text != good
    [p] = _problems(_write(tmp_path, text=text))
    assert p.endswith(f"(fix: {fix})"), p


def test_instance_problems_quote_names_in_json(tmp_path):
    """Before: Python's quotes and lists: "id ' d1' starts or ends with white space (fix: write 'd1')",
    "'lenet' is a zoo CNN (fix: ... (zoo: ['cifar', 'lenet', ...]))"."""
    path = _write(tmp_path, lambda d: (d["devices"][0].update(id=" d1"), d["privacy"].pop("lenet"),
                                       d.update(networks={"lenet": "x.json"})))
    got = _problems(path)
    assert 'devices[0].id: id " d1" starts or ends with white space (fix: write "id": "d1")' in got, got
    assert 'networks.lenet: "lenet" is a zoo CNN (fix: name your network differently (zoo CNNs: "cifar", "lenet", ' \
        '"micro", "vgg16", "vgg19"))' in got, got
    assert 'privacy: no privacy table for CNN "lenet" (fix: add "lenet": "paper" (bundled table), "lenet": ' \
        '"TABLE.json" (a path to a table file), or "lenet": null for no privacy limit)' in got, got
