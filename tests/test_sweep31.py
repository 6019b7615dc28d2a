"""sweep31: what a sweep's tables, figures, .solu file and records make of runs that are not what they
seem, and a Pareto sweep's answer that is no placement. Real HiGHS, the committed competing-lenet
records (HiGHS runs) or tiny instances; no mocks.

1. ``bench-figures`` drew records that contradict themselves (an evaluator's score other than the
   objective, a bound above the objective), which the tables set aside; now the figures use the
   tables' rule (:func:`optdist.bench.tables.set_aside_contradictions`) and say so on stderr.
2. ``bench-table --solu F --write-solu F``: an ``=opt=`` line the tables refused (below a bound a
   record proves) was written back unchanged; now the proven values are written, with a warning.
3. A spec's ``options.pricing_solver`` profile was not tracked: an edited pricing profile did not
   redo the records. Now each record holds ``pricing_solver_profile`` as it holds ``solver_profile``.
4. A run that ended ``error`` but kept a feasible warm start (``optdist solve`` exits 0 on it) was a
   failed run (status error, exit 1, redone by ``--retry-errors``); now a result: status ok, a note.
5. ``optdist.milp.pareto`` read a solver's answer unchecked (``to_assignment()``): values that are no
   placement raised InvalidSolution out of the sweep; now the point says termination error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from optdist.cli import main

from .conftest import ROOT
from .helpers import EDITED, edited_records

LENET = ROOT / "instances/paper/lenet-1x10-tau0.6.json"
MICRO = ROOT / "instances/tiny/micro-1x3-tau0.6.json"


def _profile(path: Path, solver_options: str = "", options: str = "") -> Path:
    """A HiGHS solver profile at ``path``, with ``[options]`` and ``[solver_options]`` lines."""
    path.write_text(f'name = "{path.stem}"\nsolver = "highs"\n[options]\n{options}\n'
                    f"[solver_options]\n{solver_options}\n")
    return path


def _spec(tmp_path: Path, instance: Path, solver: str, **options: str) -> Path:
    """A one-run milp spec of ``instance`` with ``solver``; ``options``: TOML values of [options]."""
    lines = ['name = "s31"', f'instances = ["{instance}"]', 'methods = ["milp"]', f'solvers = ["{solver}"]',
             "time_limit = 60", f'out = "{tmp_path / "runs"}"', "[options]"]
    lines += [f"{k} = {v}" for k, v in options.items()]
    path = tmp_path / "spec.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- 1. the figures set aside what the tables set aside -------------------------------------------------------


def test_figures_leave_out_a_record_that_contradicts_itself_and_say_so(tmp_path, capsys):
    """Before: fig11's CSV held 3 rows, the edited record's among them, and stderr said nothing."""
    for fields in ({"evaluator_objective": 5.0}, {"bound": 1.0}):  # the evaluator disagrees; a bound above it
        out, path = edited_records(tmp_path / next(iter(fields)) / "sweep", **fields)
        dest = out / "fig"
        assert main(["bench-figures", str(out), "--figure", "tau", "--figure", "scaling", "--dest", str(dest)]) == 0
        err = capsys.readouterr().err
        said = [line for line in err.splitlines() if str(path) in line]
        assert said and "left out of the figures" in said[0] and "(fix: " in said[0], err
        for csv in ("fig11-latency-vs-tau.csv", "scaling-solve-time.csv"):
            drawn = pd.read_csv(dest / csv)
            assert len(drawn) == 2 and EDITED not in drawn.to_csv(), (fields, csv)


# --- 2. --write-solu does not keep a line the tables refused ---------------------------------------------------


def test_write_solu_replaces_a_refused_optimum_with_the_proven_values(tmp_path, capsys):
    """Before: ``=opt= lenet-9x5-nexus-rpi3 0.001`` (below the records' bound 0.00998) was written back."""
    out, _ = edited_records(tmp_path / "sweep")
    solu = tmp_path / "ref.solu"
    solu.write_text(f"=opt=      {EDITED}  0.001\n")
    assert main(["bench-table", str(out), "--solu", str(solu), "--write-solu", str(solu)]) == 0
    err = capsys.readouterr().err
    text = solu.read_text()
    assert "0.001\n" not in text and f"=opt=      {EDITED}" not in text
    assert f"=best=     {EDITED}  0.0100861235061" in text and f"=bestdual= {EDITED}  0.00998360378299" in text
    warned = [line for line in err.splitlines() if "not kept there" in line]
    assert len(warned) == 1 and EDITED in warned[0] and str(solu) in warned[0]  # once: the tables' refusal says it
    assert f"=opt= {EDITED} 0.001 " in warned[0] and "=best= 0.0100861235061" in warned[0]
    assert "(old =opt= 0.001)" in warned[0]
    # a --write-solu file of its own (no --solu): its false line is not kept either, and said
    other = tmp_path / "other.solu"
    other.write_text(f"=best=     {EDITED}  0.002\n")
    assert main(["bench-table", str(out), "--write-solu", str(other)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "not kept there" in line]
    assert len(warned) == 1 and warned[0].startswith(f"optdist: warning: {other}: =best= {EDITED} 0.002 is below")
    assert "(old =best= 0.002)" in warned[0] and "0.002" not in other.read_text()


# --- 3. an edited pricing profile redoes the run ---------------------------------------------------------------


def test_an_edited_pricing_solver_profile_redoes_the_run(tmp_path, capsys):
    """Before: the second sweep said "1 already recorded, 0 run now": the edit went unseen."""
    pricing = _profile(tmp_path / "pricing.toml", options="seed = 1")
    spec = _spec(tmp_path, MICRO, "highs", pricing_solver=f'"{pricing}"')
    assert main(["bench", str(spec), "--no-progress"]) == 0
    rec = json.loads(next((tmp_path / "runs" / "records").glob("*.json")).read_text())
    made = rec["pricing_solver_profile"]
    assert made["path"] == str(pricing) and made["options"] == {"seed": 1}
    capsys.readouterr()
    _profile(pricing, options="seed = 2")
    assert main(["bench", str(spec), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "0 already recorded, 1 run now" in captured.out, captured.out
    assert "pricing solver profile" in captured.err and "options.pricing_solver" in captured.err
    assert '[options] {"seed": 1} -> {"seed": 2}' in captured.err, captured.err


# --- 4. an error run that kept a feasible placement is a result -------------------------------------------------


def test_an_error_run_that_kept_a_feasible_warm_start_is_a_result(tmp_path, capsys):
    """HiGHS at mip_feasibility_tolerance 0.2 answers values that are no placement; the greedy warm
    start is kept (``optdist solve`` exits 0). Before: status error, "1 failed", exit 1, redone by
    --retry-errors, and absent from the gap table."""
    loose = _profile(tmp_path / "loose.toml", solver_options="mip_feasibility_tolerance = 0.2")
    spec = _spec(tmp_path, LENET, str(loose), formulation='"compact"', warm_start='"greedy"')
    assert main(["bench", str(spec), "--no-progress"]) == 0
    assert "(0 failed)" in capsys.readouterr().out
    rec = json.loads(next((tmp_path / "runs" / "records").glob("*.json")).read_text())
    assert rec["status"] == "ok" and rec["error"] is None
    assert rec["summary"]["termination"] == "error" and rec["summary"]["feasible"] is True
    assert "no valid placement" in rec["note"] and "kept a feasible placement" in rec["note"]
    solvers = pd.read_csv(tmp_path / "runs" / "tables" / "solvers.csv").iloc[0]
    assert solvers["errors"] == 0 and solvers["errors_kept"] == 1
    gaps = pd.read_csv(tmp_path / "runs" / "tables" / "gaps-by-instance.csv")
    assert len(gaps) == 1 and bool(gaps["feasible"].iloc[0])
    assert "lenet-1x10-tau0.6" in (tmp_path / "runs" / "tables" / "certificates.md").read_text()
    assert main(["bench", str(spec), "--retry-errors", "--dry-run"]) == 0
    assert "0 of 1 runs to do" in capsys.readouterr().out


# --- 5. a Pareto sweep reads its solver's answer by the checked path --------------------------------------------


def test_pareto_point_of_an_answer_that_is_no_placement_says_error(tmp_path):
    """Before: InvalidSolution "request 0 transition 3: its flows ... carry 0 of the 1 maps" raised."""
    from optdist.instance import load_instance
    from optdist.milp.pareto import pareto_sweep

    loose = _profile(tmp_path / "loose.toml", solver_options="mip_feasibility_tolerance = 0.4")
    front = pareto_sweep(load_instance(LENET), 3, formulation="tight", solver=str(loose))
    assert [p.termination for p in front] == ["error"] and not front.solved
    assert len(front.solver_errors) == 1
    assert front.solver_errors[0]["message"].startswith("solver highs returned values that are no valid placement")
