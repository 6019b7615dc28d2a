"""A ``plan_start`` file made for another instance (its ``instance`` field) whose ids match is used
by plan-guided and plan-rollout, with a warning that says what it is used for (tidy22). Before:
the warning said the file was "scored on" the forecast (``load_placement``'s default ``use``)."""

from __future__ import annotations

import json
import logging

import pytest

import optdist
from tests.conftest import ROOT

MICRO = ROOT / "instances" / "tiny" / "micro-2x3-tight.json"


@pytest.mark.parametrize("method", ["plan-guided", "plan-rollout"])
def test_a_plan_start_made_for_another_instance_is_warned_about_as_the_plan_start(method, tmp_path):
    """The forecast is micro-2x3-tight under another name (same ids); the plan start is a placement
    of micro-2x3-tight itself, its file naming that instance."""
    inst = optdist.load_instance(MICRO)
    doc = json.loads(MICRO.read_text())
    doc["name"] = "micro-2x3-forecast"
    forecast = tmp_path / "forecast.json"
    forecast.write_text(json.dumps(doc))
    start = tmp_path / "start.json"
    optdist.solve(inst, method="greedy").assignment.save(inst, start)
    assert json.loads(start.read_text())["instance"] == "micro-2x3-tight"
    records: list[logging.LogRecord] = []  # a handler of its own: caplog's sees a record twice once a CLI test ran
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("optdist")
    logger.addHandler(handler)
    level = logger.level  # an in-process `optdist ... -q` before (test_break12_made_for) leaves it at ERROR
    logger.setLevel(logging.WARNING)
    try:
        res = optdist.solve(inst, method=method, forecast=forecast, plan_start=start, plan_time_limit=20,
                            polish_time_limit=0, seed=0)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert res.evaluation.feasible and res.extra["plan_start"] == str(start)  # used
    said = [r.getMessage() for r in records if 'field "instance"' in r.getMessage()]
    assert said == [f"{start}: field \"instance\": made for instance \"micro-2x3-tight\", not \"micro-2x3-forecast\" (the same "
                    "content: its instance_digest is this one's); its "
                    f"request and node ids match, so it is used as {method}'s plan_start on forecast "
                    "micro-2x3-forecast (fix: check you gave the right file; if it is meant for \"micro-2x3-forecast\", "
                    "set its \"instance\" to \"micro-2x3-forecast\")"], said
