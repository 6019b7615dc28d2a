"""cli31: defects of the defence, attack and solve commands (real torch, HiGHS and CLI; no mocks).

1. defences `_checked_folder` had a dead branch for an empty --out (path_flag refuses it while parsing);
2. dp-effect/dp-sweep --eps and calibrate --taus each had their own copy of the "each value once" rule;
3. calibrate --layers took a repeated layer or an empty item silently;
4. defq-eval --attack-eps took a repeated budget;
5. calibrate said each weak-calibration warning twice on stderr;
6. calibrate --force refused NaN/inf target weights at load instead of training them again;
7. dp-effect with a mistyped layer (relu2) gave no did-you-mean;
8. solve --method milp --policy X gave no fix;
9. evaluate of a --method defended result read the file twice.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from optdist.cli import FlagError, build_parser, main

from .helpers import images

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--subsets", "1", "--epochs", "1", "--no-progress", "--threads", "1"]


def _parse_error(words: list[str]) -> str:
    """The one-line error the parser gives ``words`` (it must refuse them while parsing)."""
    with pytest.raises(FlagError) as err:
        build_parser().parse_args(words)
    return str(err.value)


# 1. an empty --out is the parser's to refuse; the folder check has no branch for it


def test_an_empty_out_is_refused_while_parsing_and_the_folder_check_has_no_example(tmp_path, monkeypatch):
    from optdist.commands import defences

    monkeypatch.chdir(tmp_path)  # nothing may be written in the current folder
    assert _parse_error(["dp-tables", "--out", ""]).startswith("--out is empty (fix: give a folder")
    assert _parse_error(["dp-sweep", "--quick", "--out", " "]).startswith("--out is empty (fix: give a folder")
    assert list(tmp_path.iterdir()) == []
    # the check takes the folder, the files and the command: the example of the dead branch's fix is gone
    out = defences._checked_folder(tmp_path / "dpt", defences.DP_TABLES_FILES, "dp-tables")
    assert out == tmp_path / "dpt" and out.is_dir()


# 2. one rule for "each value once", in optdist.cli beside checked_flag


def test_one_rule_refuses_repeated_values_for_eps_and_taus_while_parsing():
    from optdist.cli import refuse_repeats

    with pytest.raises(ValueError, match=r"^gives 0.5 more than once \(fix: give each tau once, e.g. --taus 0.8"):
        refuse_repeats((0.5, 0.6, 0.5), "--taus", "0.8,0.6,0.4", "tau")
    refuse_repeats((0.5, 0.6), "--taus", "0.8,0.6,0.4", "tau")  # no repeat: nothing said
    # dp-effect's --eps, before any work: while parsing (before, after the parse, in the command)
    said = _parse_error(["dp-effect", "lenet", "pool1", "--eps", "10", "100", "1e1"])
    assert said == "--eps gives 10 more than once (fix: give each value once, e.g. --eps 10 100 1000)"
    assert _parse_error(["dp-sweep", "--eps", "5", "5"]).startswith("--eps gives 5 more than once")
    said = _parse_error(["calibrate", "lenet", "--taus", "0.5,0.6,0.5"])
    assert said == "--taus 0.5,0.6,0.5 gives 0.5 more than once (fix: give each tau once, e.g. --taus 0.8,0.6,0.4)"


# 3. calibrate --layers: a repeated layer or an empty item is refused while parsing


@pytest.mark.parametrize(("text", "said"), [
    ("relu1,relu1", "--layers relu1,relu1 gives relu1 more than once (fix: give each layer once, e.g. "
                    "--layers conv1,ReLU2)"),
    ("relu1,,relu2", "--layers relu1,,relu2 has an empty layer name (fix: give layer names separated by single "
                     "commas, e.g. --layers conv1,ReLU2, or leave --layers out for the target's default layers)"),
    ("conv1,", "--layers conv1, has an empty layer name (fix:"),
    ("", "--layers '' is empty (fix: give layer names separated by single commas"),
])
def test_calibrate_layers_refuses_repeats_and_empty_items_while_parsing(text, said):
    assert _parse_error(["calibrate", "lenet", "--layers", text]).startswith(said)


def test_calibrate_layers_still_takes_distinct_names():
    assert build_parser().parse_args(["calibrate", "lenet", "--layers", "conv1, ReLU2"]).layers == ("conv1", "ReLU2")


# 4. defq-eval --attack-eps: refused as --eps is


def test_defq_eval_refuses_a_repeated_attack_eps_while_parsing():
    said = _parse_error(["defq-eval", "--quick", "--attack-eps", "0.1", "0.03125", "0.10"])
    assert said == "--attack-eps gives 0.1 more than once (fix: give each value once, e.g. --attack-eps 0.03125 0.1)"
    assert build_parser().parse_args(["defq-eval", "--attack-eps", "0.1", "0.2"]).attack_eps == [0.1, 0.2]


# 5 and 6 need torch (a real calibration)


def test_weak_calibration_warnings_are_said_once_and_kept_in_the_table(tmp_path, capsys):
    pytest.importorskip("torch")
    from optdist.paths import MODELS_DIR
    from optdist.privacy import PrivacyTable

    imgs = images(tmp_path / "imgs", 6)
    table = tmp_path / "t.json"
    rc = main(["calibrate", "lenet", "--weights-dir", str(MODELS_DIR / "weights"), "--images", str(imgs),
               "--test-fraction", "0.5", "--samples", "20000", "--test-samples", "8", "--layers", "conv1", "--maps",
               "8", "--out", str(tmp_path / "O"), "--table", str(table), *QUICK])
    err = capsys.readouterr().err
    assert rc == 0, err
    warnings = PrivacyTable.load(table).provenance["warnings"]
    assert any("--samples 20000: only 3 adversary images" in w for w in warnings)
    for w in warnings:
        assert err.count(w) == 1, (w, err)  # before: once when found, once more after the tables
    assert err.count("this table is weak evidence") == 1


def _nan_lenet(folder: Path) -> Path:
    import torch

    from optdist.paths import MODELS_DIR

    folder.mkdir()
    state = torch.load(MODELS_DIR / "weights" / "lenet.pt", weights_only=True)
    state["conv1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, folder / "lenet.pt")
    shutil.copy(MODELS_DIR / "weights" / "lenet.json", folder / "lenet.json")
    return folder


def test_nan_weights_say_force_and_force_trains_them_again(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    w = _nan_lenet(tmp_path / "W")
    run = ["calibrate", "lenet", "--weights-dir", str(w), "--layers", "conv1", "--maps", "8", "--samples", "64",
           "--test-samples", "8", "--out", str(tmp_path / "O"), "--target-epochs", "1", "--target-samples", "200",
           *QUICK]
    assert main(run) == 2
    err = capsys.readouterr().err.replace('"', "'")
    assert f"{w / 'lenet.pt'}: tensor 'conv1.weight' holds 1 NaN value(s)" in err
    assert "(fix: give --force to train target lenet again and replace" in err
    assert not (tmp_path / "O").exists()
    assert main([*run, "--force"]) == 0  # before: refused at load even so
    err = capsys.readouterr().err.replace('"', "'")
    assert f"{w / 'lenet.pt'}: tensor 'conv1.weight' holds 1 NaN value(s) of 200: --force: training target lenet " \
           "again to replace it" in err
    state = torch.load(w / "lenet.pt", weights_only=True)
    assert all(bool(torch.isfinite(v).all()) for v in state.values())
    assert json.loads((w / "lenet.json").read_text())["train_samples"] == 200


# 7. dp-effect: the close match of a mistyped layer


def test_dp_effect_offers_the_close_layer(capsys):
    assert main(["dp-effect", "lenet", "relu2"]) == 2
    err = capsys.readouterr().err
    assert 'lenet has no layer "relu2"' in err and "(fix: did you mean ReLU2? e.g. `optdist dp-effect lenet ReLU2`)" in err
    assert main(["dp-effect", "lenet", "zzz"]) == 2
    assert "(fix: name one of these)" in capsys.readouterr().err


# 8. solve --method milp --policy: the fix


def test_milp_with_an_rl_flag_says_the_fix(tmp_path, capsys):
    inst = ROOT / "instances" / "paper" / "cifar-250x70-tau0.4.json"
    policy = tmp_path / "policy.pt"
    policy.write_bytes(b"")
    assert main(["solve", str(inst), "--method", "milp", "--policy", str(policy)]) == 2
    assert ("--policy is an option of --method rl or rl-ppo, not of milp (fix: leave it out, or use --method rl)"
            in capsys.readouterr().err)
    assert main(["solve", str(inst), "--method", "milp", "--episodes", "3"]) == 2
    assert "--episodes is an option of --method rl, not of milp (fix: leave it out" in capsys.readouterr().err


# 9. evaluate reads a defended result once


_OPENED: dict[str, int] = {}
_HOOKED = False


def _count_opens(event: str, args: tuple) -> None:
    if event == "open" and _OPENED and isinstance(args[0], (str, os.PathLike)):
        key = os.fspath(args[0])
        if key in _OPENED:
            _OPENED[key] += 1


def test_evaluate_reads_a_defended_result_once(tmp_path, capsys):
    global _HOOKED
    bundled = ROOT / "benchmarks" / "defences" / "placement" / "instances" / "lenet-10x10-tau0.8-defended.json"
    doc = json.loads(bundled.read_text())
    doc["requests"] = doc["requests"][:1]
    doc["devices"] = doc["devices"][:4]
    doc["sources"] = [s for s in doc["sources"] if s["id"] in {r["source"] for r in doc["requests"]}]
    inst, out = tmp_path / "def.json", tmp_path / "r.json"
    inst.write_text(json.dumps(doc))
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["solve", str(inst), "--method", "defended", "--threads", "1", "--out", str(out),
                     "--requests", "0"]) == 0
    if not _HOOKED:  # an audit hook stays for the process: it counts only while _OPENED names a file
        sys.addaudithook(_count_opens)
        _HOOKED = True
    _OPENED[str(out)] = 0
    try:
        assert main(["evaluate", str(inst), str(out), "--requests", "0"]) == 0
        opened = _OPENED[str(out)]
    finally:
        _OPENED.clear()
    assert "scored under the defence" in capsys.readouterr().out
    assert opened == 1  # before: 2 (as a placement, then for its defence)
