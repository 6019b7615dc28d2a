"""`optdist generate` names the flag of a bad value (found trying it with bad arguments:
`--seed -3` said only "expected non-negative integer", numpy's words, and `--requests ''`
suggested a device type as its example)."""

from __future__ import annotations

from optdist.cli import main


def test_a_negative_seed_names_the_flag(tmp_path, capsys):
    assert main(["generate", "--name", "g", "--requests", "lenet=2", "--devices", "rpi3=2", "--tau", "0.8",
                 "--seed", "-3", "--out", str(tmp_path / "g.json")]) == 2
    assert "--seed -3 is out of range (fix: give an integer >= 0, e.g. --seed 0)" in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()


def test_the_example_fits_the_flag(tmp_path, capsys):
    assert main(["generate", "--name", "g", "--requests", "", "--devices", "rpi3=2", "--tau", "0.8"]) == 2
    assert "--requests \"\" is not NAME=COUNT (fix: give NAME=COUNT pairs separated by commas, e.g. --requests lenet=10)" \
        in capsys.readouterr().err
    assert main(["generate", "--name", "g", "--requests", "lenet=1", "--devices", "rpi3", "--tau", "0.8"]) == 2
    assert "--devices \"rpi3\" is not NAME=COUNT (fix: give NAME=COUNT pairs separated by commas, e.g. --devices rpi3=10)" \
        in capsys.readouterr().err
