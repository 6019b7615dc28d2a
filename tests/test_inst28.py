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
