"""tidy31: four defects left by the helpers who last changed these commands (real CLI, torch, HiGHS
records; no mocks).

1. ``solve --method greedy --policy DIR`` named only rl as the method that takes --policy, though
   rl-ppo takes it too: every method's refusal of --policy/--episodes names the methods that take it.
2. ``calibrate --force`` refused a target .pt that cannot be read at all (cut short, not a torch file,
   pickled objects) with "delete ... and run train-target": --force trains it again over it (warned,
   naming the file); without --force the fix names --force. Nothing is unpickled.
3. ``optdist bench`` with a spec's figures warned about a record that contradicts itself twice (tables,
   then figures): now once, the tables' warning naming the figures too.
4. ``bench-table --solu F --write-solu F``: the warning for a refused =opt= line told the user to
   correct or delete it, then said the file had been rewritten: now one message of what was done.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from optdist.cli import main

from .conftest import ROOT
from .helpers import EDITED, edited_records

MICRO = ROOT / "instances/tiny/micro-2x2-tau0.6.json"


# --- 1. --policy / --episodes: the methods that take them, for every method ---------------------------------------

@pytest.mark.parametrize("method,flag,owners", [
    ("greedy", "--policy", "rl or rl-ppo"),  # before: "rl" only
    ("plan-guided", "--policy", "rl or rl-ppo"),
    ("milp", "--policy", "rl or rl-ppo"),
    ("greedy", "--episodes", "rl"),
    ("rl-ppo", "--episodes", "rl"),
])
def test_policy_and_episodes_refusals_name_every_method_that_takes_them(tmp_path, capsys, method, flag, owners):
    value = str(tmp_path / "policy") if flag == "--policy" else "3"
    assert main(["solve", str(MICRO), "--method", method, flag, value, "-q"]) == 2
    err = capsys.readouterr().err
    assert (f"{flag} is an option of --method {owners}, not of {method} (fix: leave it out, or use --method rl)"
            in err), err


# --- 2. calibrate --force trains again over an unreadable target file -----------------------------------------------

def _weights(folder: Path) -> tuple[Path, Path]:
    folder.mkdir()
    for f in ("lenet.pt", "lenet.json"):
        shutil.copy(ROOT / "models" / "weights" / f, folder / f)
    return folder / "lenet.pt", folder / "lenet.json"


def test_calibrate_force_trains_again_over_a_cut_short_target(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    pt, sidecar = _weights(tmp_path / "W")
    pt.write_bytes(pt.read_bytes()[:3000])  # cut short: a zip archive without its central directory
    run = ["calibrate", "lenet", "--weights-dir", str(pt.parent), "--layers", "conv1", "--maps", "8", "--samples", "64",
           "--test-samples", "8", "--out", str(tmp_path / "O"), "--target-epochs", "1", "--target-samples", "200",
           "--subsets", "1", "--epochs", "1", "--no-progress", "--threads", "1"]
    assert main(run) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{pt}: not a readable PyTorch file, damaged or cut short" in err, err
    assert f"give --force to train target lenet again and replace {pt} and {sidecar}, or delete" in err, err
    assert not (tmp_path / "O").exists()
    assert main([*run, "--force"]) == 0  # before: exit 2, "delete ... and run `optdist train-target ...`" even so
    err = " ".join(capsys.readouterr().err.split())
    assert (f"{pt}: not a readable PyTorch file, damaged or cut short" in err
            and ": --force: training target lenet again to replace it" in err), err
    state = torch.load(pt, weights_only=True)
    assert all(bool(torch.isfinite(v).all()) for v in state.values())
    assert json.loads(sidecar.read_text())["train_samples"] == 200


class _Opens:
    """Unpickled, it would create ``path`` (as a malicious checkpoint could run any code)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_an_unreadable_target_names_force_and_is_never_unpickled(tmp_path):
    pytest.importorskip("torch")
    from optdist.attacks import targets

    pt, sidecar = _weights(tmp_path / "W")
    marker = tmp_path / "unpickled"
    pt.write_bytes(pickle.dumps({"conv1.weight": _Opens(marker)}, protocol=2))
    with pytest.raises(targets.UnreadableTarget) as e:
        targets.load_or_train("lenet", pt.parent, force=False)
    assert str(e.value).startswith(f"{pt}: refused by torch.load(weights_only=True)"), e.value
    assert f"give --force to train target lenet again and replace {pt} and {sidecar}, or delete" in str(e.value)
    assert not marker.exists()
    shutil.copy(ROOT / "models" / "weights" / "lenet.pt", pt)  # a damaged sidecar is such a file too
    sidecar.write_text('{"num_classes": 10')
    with pytest.raises(targets.UnreadableTarget, match=r"lenet\.json: damaged target metadata .*give --force"):
        targets.load_or_train("lenet", pt.parent)


# --- 3. optdist bench: a record that contradicts itself is warned once ---------------------------------------------

def test_bench_warns_once_per_contradictory_record_for_tables_and_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # the spec's instances are relative to the repository
    out, path = edited_records(tmp_path / "sweep", bound=1.0)  # above its own objective: set aside
    spec = (ROOT / "benchmarks/specs/competing-lenet.toml").read_text().splitlines()
    spec = [f'out = "{out}"' if line.startswith("out =") else line
            for line in spec if not line.startswith("tables_dir")]
    (tmp_path / "spec.toml").write_text("\n".join([*spec, 'figures = ["tau"]']) + "\n")
    assert main(["bench", str(tmp_path / "spec.toml"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "3 already recorded, 0 run now" in captured.out, captured.out
    said = [line for line in captured.err.splitlines() if str(path) in line]
    assert len(said) == 1, captured.err  # before: 2, the tables' and the figures'
    assert "its bound 1 is above its own objective" in said[0] and "the reference values and the figures" in said[0]
    assert "(fix: " in said[0]
    assert EDITED not in (out / "figures" / "fig11-latency-vs-tau.csv").read_text()  # left out of the figures
    # bench-figures alone still says it, once
    assert main(["bench-figures", str(out), "--figure", "tau", "--dest", str(tmp_path / "fig")]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if str(path) in line]
    assert len(said) == 1 and "left out of the figures" in said[0]


# --- 4. --write-solu the --solu file: one message of what was done --------------------------------------------------

def test_write_solu_over_the_solu_file_says_what_was_done_without_a_fix_to_do(tmp_path, capsys):
    out, _ = edited_records(tmp_path / "sweep")
    solu = tmp_path / "ref.solu"
    solu.write_text(f"=opt=      {EDITED}  0.001\n")
    assert main(["bench-table", str(out), "--solu", str(solu), "--write-solu", str(solu)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if f"{EDITED} 0.001" in line]
    assert len(warned) == 1, warned
    line = warned[0]
    assert line.startswith(f"optdist: warning: {solu}: =opt= {EDITED} 0.001 is below the bound 0.00998360378299")
    assert "correct or delete" not in line, line  # before: the fix to do what --write-solu had done
    assert (f"{EDITED} is now =best= 0.0100861235061, =bestdual= 0.00998360378299 in it, the values the records "
            "prove (old =opt= 0.001)") in line
    assert "(fix: none needed; if the bound is the false one, delete that record" in line
    gaps = (out / "tables" / "gaps.md").read_text()
    assert gaps.count(f"WARNING {solu}: =opt= {EDITED} 0.001") == 1 and "correct or delete" not in gaps
    # --solu alone (nothing rewritten): the fix is still the user's to do
    solu.write_text(f"=opt=      {EDITED}  0.001\n")
    assert main(["bench-table", str(out), "--solu", str(solu)]) == 0
    assert f"(fix: correct or delete the =opt= line of {EDITED} in {solu}" in capsys.readouterr().err
