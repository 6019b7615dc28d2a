"""A Pareto front shows each point once (fixes16): two shared-data levels that give the same
latency and shared bytes were both marked nondominated, so the table and the figure listed the
same point twice as two front points (lenet-1x4-tau0.6, 6 points: levels 3 and 4)."""

from __future__ import annotations

from optdist.instance import load_instance
from optdist.milp.pareto import ParetoPoint, front_table, mark_front, pareto_sweep

from .conftest import ROOT


def point(latency: float | None, shared: float | None) -> ParetoPoint:
    return ParetoPoint(None, latency, shared, latency, None, None, "optimal" if latency is not None else "no_solution", 0.1)


def test_the_first_of_equal_points_represents_them():
    front = [point(3.0, 10.0), point(2.0, 20.0), point(2.0, 20.0 * (1 + 1e-12)), point(2.5, 25.0),
             point(None, None), point(1.0, 30.0), point(1.0, 30.0)]
    mark_front(front)
    assert [p.nondominated for p in front] == [True, True, False, False, False, True, False]
    assert [p.duplicate_of for p in front] == [None, None, 1, None, None, None, 5]
    df = front_table(front)
    assert df["duplicate_of"].tolist()[2] == 1 and str(df["duplicate_of"].dtype) == "Int64"


def test_a_dominated_point_stays_dominated_whatever_its_duplicates():
    front = [point(2.0, 20.0), point(2.0, 20.0), point(1.0, 10.0)]  # both copies beaten by the third
    mark_front(front)
    assert [p.nondominated for p in front] == [False, False, True]
    assert front[1].duplicate_of == 0


def test_a_real_sweep_lists_each_front_point_once():
    front = pareto_sweep(load_instance(ROOT / "instances" / "tiny" / "lenet-1x4-tau0.6.json"), 6, formulation="tight")
    on_front = [(p.latency_s, p.shared_bytes) for p in front if p.nondominated]
    assert len(on_front) == len(set(on_front))
    dups = [p for p in front if p.duplicate_of is not None]
    assert dups, "the sweep no longer repeats a point: pick levels that do"
    for p in dups:
        q = front[p.duplicate_of]
        assert (q.latency_s, q.shared_bytes) == (p.latency_s, p.shared_bytes) and q.nondominated
