"""Node and request ids with white space around them are refused (break15: " d1 " and "d1" were
accepted as two devices that print alike)."""

from __future__ import annotations

import json

import pytest

from optdist.instance import InstanceError, load_instance
from tests.conftest import TINY


@pytest.mark.parametrize("group", ["devices", "requests"])
def test_an_id_with_white_space_around_it_is_refused(tmp_path, group):
    doc = json.loads(TINY[0].read_text())
    doc[group][0]["id"] = f" {doc[group][0]['id']} "
    f = tmp_path / "inst.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(InstanceError) as e:
        load_instance(f)
    assert f"{group}[0].id" in str(e.value) and "white space" in str(e.value)
