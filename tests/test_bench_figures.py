"""Paper figures from records: every figure writes a PNG and the CSV behind it."""

from __future__ import annotations

import pandas as pd
import pytest

from optdist.bench.figures import FIGURES, family, write_figures

from .test_bench_tables import record, write


@pytest.fixture
def out(tmp_path):
    recs = []
    for tau in (0.4, 0.6, 0.8):
        for method, lat in (("greedy", 2.0), ("per-layer", 3.0)):
            r = record(f"lenet-10x10-tau{tau}", None, "feasible", lat * tau, method=method, limit=None, tau=tau)
            r["key"] += f"-{tau}"
            recs.append(r)
    for n_dev, nexus in ((10, 3), (20, 6), (40, 40)):
        r = record(f"hetero-d{n_dev}", None, "feasible", 5.0, method="rl", limit=None, n_devices=n_dev,
                   device_types={"stm32h7": n_dev - nexus, "nexus": nexus})
        r["requests_ok"] = 1
        recs.append(r)
    for n_req, wall, term in ((1, 0.5, "optimal"), (3, 4.0, "optimal"), (10, 60.0, "time_limit")):
        recs.append(record(f"lenet-{n_req}x10", "highs", term, 1.0, 0.5, wall=wall, limit=60.0, n_requests=n_req))
    write(tmp_path, recs)
    return tmp_path


def test_every_figure_writes_png_and_csv(out):
    files = write_figures(out, list(FIGURES), out / "fig")
    names = {f.name for f in files}
    for stem in ("fig11-latency-vs-tau", "fig12-shared-vs-tau", "fig13-total-latency", "fig14-total-shared",
                 "fig15-accuracy-vs-devices", "fig16-accuracy-vs-mix", "fig17-optimum-rl-latency", "scaling-solve-time"):
        assert {f"{stem}.png", f"{stem}.csv"} <= names
        assert (out / "fig" / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
    tau = pd.read_csv(out / "fig" / "fig11-latency-vs-tau.csv")
    row = tau[(tau["config"] == "per-layer") & (tau["tau"] == 0.6)].iloc[0]
    assert row["family"] == "lenet-10x10" and row["latency_per_request_s"] == pytest.approx(3.0 * 0.6 / 2)
    mix = pd.read_csv(out / "fig" / "fig16-accuracy-vs-mix.csv").set_index("instance")
    assert mix.loc["hetero-d20", "nexus_pct"] == pytest.approx(30.0) and mix.loc["hetero-d20", "accuracy_pct"] == 50.0
    scaling = pd.read_csv(out / "fig" / "scaling-solve-time.csv").set_index("n_requests")
    assert scaling.loc[10, "time_s"] == 60.0 and not scaling.loc[10, "solved"]


def test_family_strips_tau():
    assert family("hetero-250x70-tau0.4") == "hetero-250x70" and family("lenet-3x10") == "lenet-3x10"


def test_unknown_figure_is_refused(out):
    with pytest.raises(ValueError, match="unknown figure"):
        write_figures(out, ["fig99"], out / "fig")


def test_figures_survive_sweeps_without_successful_runs(tmp_path):
    write(tmp_path, [record("lenet-3x10-tau0.6", None, "error", None, method="rl", limit=None, status="error")])
    files = write_figures(tmp_path, list(FIGURES), tmp_path / "fig")
    assert all(f.exists() for f in files)
