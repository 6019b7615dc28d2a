"""fix32a: the session's leftovers (real HiGHS, tiny instances, no mocks).

1. A write into a loaded instance's array names the array, that the instance is read-only, and
   the fix (inst.with_spec / a copy); before: numpy's bare "assignment destination is read-only".
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import optdist
from optdist.instance import ReadOnlyError

from .conftest import LENET_1X4


@pytest.fixture(scope="module")
def inst():
    return optdist.load_instance(LENET_1X4)


# --- 1. the arrays of a loaded instance ----------------------------------------------------------

@pytest.mark.parametrize("code, name", [
    ("i.rate[0] = 0", "inst.rate"), ("i.mults_per_s[:] = np.nan", "inst.mults_per_s"), ("i.memory += 1", "inst.memory"),
    ("i.request_source[0] = 0", "inst.request_source"), ("i.compute_capacity.fill(0)", "inst.compute_capacity"),
    ("i.bandwidth_capacity[:2][0] = 1", "inst.bandwidth_capacity"), ("np.add(i.rate, 1, out=i.rate)", "inst.rate"),
    ("i.memory.sort()", "inst.memory"), ("i.segment_seconds(0)[0, 0] = 0", "inst.segment_seconds(r)"),
])
def test_an_array_write_names_the_array_and_the_fix(inst, code, name):
    with pytest.raises(ReadOnlyError, match=rf"^{name.replace('(', '[(]').replace(')', '[)]')} cannot be changed: a "
                       r"loaded instance is read-only.*\(fix: .*with_spec\(.*a = " + name.replace("(", "[(]").replace(")", "[)]")
                       + r"\.copy\(\)\)$") as e:
        exec(code, {"i": inst, "np": np})
    assert isinstance(e.value, ValueError)  # what numpy raised: code catching ValueError still does
    assert np.all(inst.rate > 0) and np.all(np.isfinite(inst.mults_per_s)) and inst.memory[0] > 1e9


def test_the_node_fix_is_the_with_spec_line_to_write(inst):
    with pytest.raises(ReadOnlyError) as e:
        inst.rate[0] = 0
    fix = str(e.value).split("with inst.with_spec(", 1)[1]
    assert fix.startswith('devices=[d.model_copy(update={"rate": ...}) if d.id == "rpi3-1" else d for d in inst.spec.devices])')
    changed = inst.with_spec(devices=[d.model_copy(update={"rate": 1e6}) if d.id == "rpi3-1" else d for d in inst.spec.devices])
    assert changed.rate[0] == 1e6 and inst.rate[0] != 1e6


def test_what_is_computed_or_copied_is_a_plain_writable_array(inst):
    computed = [inst.rate * 2, np.sort(inst.rate), np.maximum(inst.rate, 3), np.concatenate([inst.rate, inst.memory]),
                inst.rate.copy(), np.copy(inst.rate), np.array(inst.rate), copy.copy(inst.rate), copy.deepcopy(inst.rate),
                pickle.loads(pickle.dumps(inst.rate)), inst.segment_seconds(0).max(axis=1), inst.rate == inst.rate]
    for a in computed:
        assert type(a) is np.ndarray and a.flags.writeable
        a[0] = 0  # a copy: the instance keeps its numbers
    assert inst.rate.max() == inst.rate[0] > 0 and float(inst.rate.sum()) == pytest.approx(5 * inst.rate[0])
    view = inst.rate[:2]
    assert isinstance(view, np.ndarray) and not view.flags.writeable
    for other in (copy.deepcopy(inst), pickle.loads(pickle.dumps(inst))):
        with pytest.raises(ReadOnlyError, match="^inst.rate cannot be changed"):
            other.rate[0] = 0
        assert np.array_equal(other.rate, inst.rate)
