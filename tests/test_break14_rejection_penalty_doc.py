"""break14: ``objective.rejection_penalty`` is documented where the objective fields are (README),
with its default and the numbers of benchmarks/milp/rejection_penalty_scale.py."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT

SCRIPT = "benchmarks/milp/rejection_penalty_scale.py"


def _readme() -> str:
    return " ".join((ROOT / "README.md").read_text().split())


def test_the_readme_documents_the_field_and_its_default():
    text = _readme()
    assert "Objective fields (`objective`" in text
    para = text[text.index("Objective fields (`objective`"):]
    para = para[:para.index("Range (0, 1e9] s.")]
    for needed in ("`rejection_penalty`", "1000 x a bound on any one latency", "`admission`", "`shared_weight`",
                   "`uplink`", "`kind`", SCRIPT, "blur the bound"):
        assert needed in para, needed


def test_the_readme_numbers_are_the_scripts():
    done = subprocess.run([sys.executable, SCRIPT, "instances/tiny/lenet-2x4-tight.json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in done.stdout.splitlines()[2:]]
    assert [r[0] for r in rows] == ["-", "10", "1"]
    text = _readme()
    assert rows[0][1] == "6.357" and "penalty 6.36 s" in text and f"{rows[0][3]} x the optimum" in text.replace("2.9e3", "2.9e+03")
    assert (rows[1][1], rows[2][1]) == ("5.154e+06", "5.154e+07") and "5.15e6 / 5.15e7 s" in text
    assert (rows[1][3], rows[2][3]) == ("2.3e+09", "2.3e+10") and "2.3e9 / 2.3e10 x" in text
    assert all(r[4] == "0" for r in rows)


def test_the_script_refuses_bad_arguments():
    for args in ([], ["instances/tiny/lenet-2x4-tight.json", "fast"], ["instances/tiny/lenet-2x4-tight.json", "0"],
                 ["no-such-instance.json"]):
        done = subprocess.run([sys.executable, SCRIPT, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "Traceback" not in done.stderr, (args, done.stdout, done.stderr)
