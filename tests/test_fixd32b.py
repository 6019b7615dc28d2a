"""fixd32b: a fresh user's findings in the day's changes (real HiGHS/torch, tiny instances, no mocks).

1. ``bench-table --write-solu`` rewrites per line: a line whose own value is unchanged keeps its
   text and trailing comment when another line of its instance changes; the warning of a changed
   line shows the line written in its place. Before: ``=best= X 0.00722081717452 # keep me`` lost
   its comment when ``=bestdual= X`` changed, "rewritten as `...; =bestdual= ...`".
2. A damaged checkpoint.pt on ``train-rl --resume``: "not a readable checkpoint: damaged, or it holds
   more than tensors" and the fix; before: "it holds more than tensors (Unsupported operand 184)".
3. Library ``train``: Python words (resume=True, checkpoint=) and checkpoint_every without
   checkpoint= refused (ValueError); before: CLI flags, and checkpoint_every silently ignored.
4. ``--method defended``: each requested cut that is rejected is said on stderr, with why.
"""

from __future__ import annotations

import shutil

from optdist.cli import main

from .conftest import ROOT

# --- 1. bench-table --write-solu: per line ----------------------------------------------------------

TIGHT = "lenet-10x10-tight-tau0.8"  # records: =best= 0.00722081717452, =bestdual= 0.00712464252548


def _sweep(tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(ROOT / "benchmarks/milp/competing-tight" / "records", out / "records")
    return out


def test_an_unchanged_line_keeps_its_comment_when_another_line_of_its_instance_changes(tmp_path, capsys):
    out, solu = _sweep(tmp_path), tmp_path / "ref.solu"
    solu.write_text(f"# refs\n=best=     {TIGHT}  0.00722081717452 # keep me\n=bestdual= {TIGHT}  0.0070  # old\n")
    assert main(["bench-table", str(out), "--write-solu", str(solu)]) == 0
    err = capsys.readouterr().err
    lines = solu.read_text().splitlines()
    assert lines[:3] == ["# refs", f"=best=     {TIGHT}  0.00722081717452 # keep me",
                         f"=bestdual= {TIGHT}  0.00712464252548"], lines
    assert "keep me" not in err, err
    warned = [line for line in err.splitlines() if "dropped" in line]
    assert warned == [f'optdist: warning: {solu}:3: "=bestdual= {TIGHT}  0.0070  # old" is rewritten as '
                      f'"=bestdual= {TIGHT}  0.00712464252548" and its comment "# old" dropped, as it described the '
                      "old value (fix: write the comment again if it still holds)"], err


def test_a_best_line_that_changes_keeps_the_comment_of_the_unchanged_bestdual_line(tmp_path, capsys):
    out, solu = _sweep(tmp_path), tmp_path / "ref.solu"
    solu.write_text(f"=best=     {TIGHT}  0.009  # paper\n=bestdual= {TIGHT}  0.00712464252548  # keep me too\n")
    assert main(["bench-table", str(out), "--write-solu", str(solu)]) == 0
    err = capsys.readouterr().err
    lines = solu.read_text().splitlines()
    assert lines[:2] == [f"=best=     {TIGHT}  0.00722081717452",
                         f"=bestdual= {TIGHT}  0.00712464252548  # keep me too"], lines
    assert f'is rewritten as "=best=     {TIGHT}  0.00722081717452" and its comment "# paper" dropped' in err, err
    assert "keep me too" not in err, err
