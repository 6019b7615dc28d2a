"""lead40: CBC's actions are refused only where CBC describes its parameters as CBC 2.10 does
(:func:`optdist.solvers.cbc.cbc_action`): a CBC whose ``-KEY??`` words differ must not have every
raw option taken for an action."""

from __future__ import annotations

from optdist.solvers import cbc

from .conftest import requires_solver


@requires_solver("cbc")
def test_an_action_is_known_only_where_cbc_describes_a_known_parameter_as_2_10_does(monkeypatch):
    assert cbc.cbc_action("export") == "export : Export model as mps file"
    assert cbc.cbc_action("ratioGap") is None
    real = cbc._described

    def other_version(key: str) -> str | None:  # the same text, without 2.10's range and keyword lines
        said = real(key)
        return None if said is None else "\n".join(line for line in said.splitlines() if not line.startswith("<"))

    monkeypatch.setattr(cbc, "_described", other_version)
    # the parameter cuts reads as an action does here, and is not taken for one by the ratioGap check alone
    # (without that check: "cuts(OnOff) : Switches all cut generators on or off")
    assert not cbc._PARAMETER.search(cbc._described("cuts"))
    assert cbc.cbc_action("cuts") is None
    assert cbc.cbc_action("export") is None


@requires_solver("glpk")
def test_glpsol_options_are_switches_only_where_its_help_reads_as_glpk_5_does(monkeypatch):
    from optdist.solvers import glpk

    assert glpk.glpsol_arguments()["tmlim"] == "nnn" and "pcost" not in glpk.glpsol_arguments()
    said = glpk._glpsol_help()
    monkeypatch.setattr(glpk, "_glpsol_help", lambda: said.replace(" nnn ", "=nnn "))  # no '--tmlim nnn' there
    assert glpk.glpsol_arguments() == {}
