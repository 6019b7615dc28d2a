"""`optdist import-solution` of a solution file in which the external solver found no solution says so.

Found by the break15 tester: an exported model of an infeasible instance, solved by CBC, GLPK or
HiGHS, was refused with a misleading reason: CBC's 'Infeasible' file as "value 4.6875 is not an
integer" (its LP values), GLPK's 'INTEGER EMPTY' report as "constraint ... not met: 0 != 1",
HiGHS's file (primal solution values: None) as "no '# Columns' section ... or the right --format".
"""

from __future__ import annotations

import json
import shutil

import pytest

from optdist.cli import main
from optdist.instance import parse
from optdist.milp.export import write_model
from optdist.milp.model import build
from tests.conftest import ROOT
from tests.test_export import EXTERNAL


@pytest.mark.parametrize("solver", sorted(EXTERNAL))
def test_an_infeasible_models_solution_file_is_refused_as_no_solution(tmp_path, capsys, solver):
    run, program = EXTERNAL[solver]
    if program and shutil.which(program) is None:
        pytest.skip(f"{program} not installed (apt-get install coinor-cbc glpk-utils)")
    doc = json.loads((ROOT / "instances" / "tiny" / "micro-1x3-tau0.6.json").read_text())
    doc["period_s"] = 1e-6  # 9 B per period per radio: the camera cannot send its first layer's output
    f = tmp_path / "inst.json"
    f.write_text(json.dumps(doc))
    model, sol = tmp_path / "m.lp", tmp_path / "m.sol"
    write_model(build(parse(doc, doc["name"]), "tight"), model)
    try:
        run(model, sol)
    except Exception:  # noqa: BLE001 - glpsol exits non-zero on some versions when the problem has no solution
        pass
    if not sol.exists():
        pytest.skip(f"{solver} wrote no solution file for an infeasible model")
    assert main(["import-solution", str(f), "--model-file", str(model), "--solution", str(sol),
                 "--format", solver]) == 2
    err = capsys.readouterr().err
    assert str(sol) in err and "the solver found no solution" in err and "optdist diagnose" in err
    assert "Traceback" not in err
