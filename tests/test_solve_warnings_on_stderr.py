"""``optdist solve`` warns on stderr too (through the ``optdist`` logger, as every other warning)
about a claim the evaluator does not confirm (``extra["warning"]``) and an optimum it cannot
prove (``extra["optimality_unproven"]``), each once; the ``WARNING`` lines on stdout stay
(tidy22). Before: on stdout only."""

from __future__ import annotations

import json

from optdist.cli import main
from tests.conftest import requires_solver
from tests.test_break12_claims import _scip_case


@requires_solver("scip")
def test_a_claim_the_evaluator_does_not_confirm_is_warned_on_stderr_once(tmp_path, capsys):
    """SCIP on ``compact`` (admission control, makespan, serial uplink) claims a makespan 7 % below
    its placement's own and calls it optimal (tests/test_break12_claims.py): both warnings set."""
    case = tmp_path / "scip-claim.json"
    case.write_text(json.dumps(_scip_case()))
    assert main(["solve", str(case), "--formulation", "compact", "--solver", "scip", "--gap", "0",
                 "--threads", "1"]) == 0
    out, err = capsys.readouterr()
    said = [line.removeprefix("WARNING      ") for line in out.splitlines() if line.startswith("WARNING      ")]
    assert len(said) == 2 and said[0].startswith("method claims objective ") and said[1].startswith(
        "the method said optimal, but on the placement's own score "), out  # kept on stdout
    for warning in said:
        assert err.count(warning) == 1 and f"warning: {warning}\n" in err, err
