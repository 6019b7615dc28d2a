"""Paper figures from records: every figure writes a PNG and the CSV behind it."""

from __future__ import annotations

import pandas as pd
import pytest

from optdist.bench.figures import FIGURES, family, write_figures

from .test_bench_tables import record, write


def drawn_by(monkeypatch, name: str) -> list:
    """The figures ``optdist.bench.figures.<name>`` (``_bars``, ``_lines``) returns from now on, in order."""
    from optdist.bench import figures

    drawn, real = [], getattr(figures, name)
    monkeypatch.setattr(figures, name, lambda *a, **k: drawn.append(real(*a, **k)) or drawn[-1])
    return drawn


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


def _texts(fig_path_or_axes) -> list[str]:
    return [t.get_text() for ax in fig_path_or_axes for t in ax.texts]


def test_gap_grid_marks_rejections_and_violations_on_the_plot(tmp_path, monkeypatch):
    """A method that rejects most requests has the lowest latency; its cell must say so (hatched,
    the rejections counted), not show a gap."""
    import matplotlib.pyplot as plt

    from optdist.bench import figures

    rows = pd.DataFrame([
        {"instance": "a", "method": "greedy", "latency_ms": 1.0, "gap_%": None, "rejected": 235, "n_requests": 250,
         "feasible": False, "capacity_viol": 0, "privacy_viol": 0, "placement_viol": 0},
        {"instance": "a", "method": "per-layer", "latency_ms": 3.0, "gap_%": None, "rejected": 0, "n_requests": 250,
         "feasible": False, "capacity_viol": 0, "privacy_viol": 40, "placement_viol": 0},
        {"instance": "a", "method": "plan-guided", "latency_ms": 5.0, "gap_%": 0.0, "rejected": 0, "n_requests": 250,
         "feasible": True, "capacity_viol": 0, "privacy_viol": 0, "placement_viol": 0},
    ])
    drawn = drawn_by(monkeypatch, "_gap_figure")
    labels = figures.gap_grid(rows, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"
    assert labels == ["rejects 235/250", "40 privacy viol.", "0.00 %"]
    ax = drawn[0][0].axes[0]
    hatched = {round(p.get_x() + 0.5): p.get_hatch() for p in ax.patches}
    assert hatched == {0: "///", 1: "///", 2: None}  # the feasible cell is plain
    plt.close("all")


def test_status_note_counts_rejections_apart_from_violations():
    from optdist.bench.figures import status_note

    assert status_note(0, 10, True, 0) == ""
    assert status_note(3, 10, False, 3) == "rejects 3/10"  # the evaluator counts each rejection as a violation
    assert status_note(3, 10, False, 5) == "rejects 3/10; infeasible: 2 violations"
    assert status_note(0, 10, False, 4) == "infeasible: 4 violations"
    assert status_note(0, 10, False, 0) == "infeasible"


def test_paper_latency_figures_mark_runs_that_reject(tmp_path, monkeypatch):
    """Figs. 11, 13 and 17 carry the rejection on the plot (not only in the CSV)."""
    import matplotlib.pyplot as plt

    from optdist.bench import figures

    recs = []
    for method, lat, rej in (("greedy", 2.0, 0), ("rl", 0.5, 1)):
        r = record("lenet-10x10-tau0.6", None, "feasible", lat, method=method, limit=None, feasible=not rej)
        r["summary"]["rejected"] = r["summary"]["violations"] = rej
        if rej:
            r["per_request"]["latency_s"][1] = None
        recs.append(r)
    df = figures.prepare(write(tmp_path, recs))
    texts = {}
    for name, fn in (("tau", figures._lines), ("bars", figures._bars)):
        real = fn

        def keep(*a, _real=real, _name=name, **k):
            fig = _real(*a, **k)
            texts.setdefault(_name, []).extend(_texts(fig.axes))
            return fig

        monkeypatch.setattr(figures, {"tau": "_lines", "bars": "_bars"}[name], keep)
    figures.fig_tau(df, tmp_path / "fig")
    figures.fig_greedy_rl(df, tmp_path / "fig")
    figures.fig_optimum_rl(df, tmp_path / "fig")
    assert "[1] rl at 0.6: rejects 1/2" in texts["tau"]  # fig35: the point's key, listed under its panel
    assert texts["bars"].count("rejects 1/2") == 2  # fig13 and fig14
    assert "rejected" in texts["bars"]  # fig17: the request with no latency
    plt.close("all")


@pytest.mark.parametrize("n_panels", [3, 15])
def test_gap_grid_title_clears_the_headers(tmp_path, monkeypatch, n_panels):
    """The figure title sits above the column headers and the block titles, for few instances as
    for many (before fig36, the title of benchmarks/online/gap_table.png's bars ran over the
    middle panel's title: tight_layout left it no room)."""
    import matplotlib.pyplot as plt

    from optdist.bench import figures

    rows = pd.DataFrame([{"instance": f"set-{i:02d}", "method": m, "latency_ms": 1.0 + j, "gap_%": 100.0 * j,
                          "rejected": 0, "n_requests": 4, "feasible": True, "capacity_viol": 0, "privacy_viol": 0,
                          "placement_viol": 0}
                         for i in range(n_panels) for j, m in enumerate(("greedy", "plan-guided (forecast -25 %)"))])
    drawn = drawn_by(monkeypatch, "_gap_figure")
    figures.gap_grid(rows, tmp_path / "grid.png", groups={f"set-{i:02d}": f"block {i % 2}" for i in range(n_panels)})
    fig = drawn[0][0]
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # gap_grid closed the figure's own canvas
    canvas.draw()
    renderer = canvas.get_renderer()
    title = fig._suptitle.get_window_extent(renderer)
    blocks = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in blocks] == ["block 0", "block 1"]
    below = [ax.title.get_window_extent(renderer) for ax in blocks] + [
        ax._left_title.get_window_extent(renderer) for ax in blocks] + [
        t.get_window_extent(renderer) for t in blocks[0].get_xticklabels()]
    assert all(title.y0 >= b.y1 for b in below), (title, [b.y1 for b in below])
    plt.close("all")


def test_accuracy_figures_mark_instances_the_milp_proved_infeasible(tmp_path, monkeypatch):
    """fixes17: Figs. 15-16 dropped runs without a placement (per_request None), so an instance
    the MILP proved infeasible vanished from the plot; now it is a cross on the x axis labelled
    "proved infeasible", and the CSV keeps its row (accuracy empty, the note)."""
    import matplotlib.pyplot as plt

    from optdist.bench import figures

    recs = []
    for n_dev, nexus in ((10, 3), (20, 10)):  # 30 % and 50 % LG Nexus
        info = {"n_devices": n_dev, "device_types": {"stm32h7": n_dev - nexus, "nexus": nexus}}
        r = record(f"hetero-d{n_dev}", None, "feasible", 5.0, method="greedy", limit=None, **info)
        r["requests_ok"] = 1
        recs.append(r)
        if n_dev == 10:  # the MILP proves this one infeasible: no placement, no per-request numbers
            recs.append(record(f"hetero-d{n_dev}", "highs", "infeasible", None, limit=60.0, **info))
        else:  # a time limit with no placement yet
            recs.append(record(f"hetero-d{n_dev}", "highs", "time_limit", None, limit=60.0, **info))
    df = figures.prepare(write(tmp_path, recs))
    drawn = drawn_by(monkeypatch, "_lines")
    figures.fig_devices(df, tmp_path / "fig")
    figures.fig_mix(df, tmp_path / "fig")
    for fig, stem, x, at in zip(drawn, ("fig15-accuracy-vs-devices", "fig16-accuracy-vs-mix"), ("n_devices", "nexus_pct"),
                                (("10", "20"), ("30", "50"))):
        data = pd.read_csv(tmp_path / "fig" / f"{stem}.csv")
        milp = data[data["config"] == "milp/highs/compact"].set_index("instance")
        assert milp.loc["hetero-d10", "note"] == "proved infeasible" and pd.isna(milp.loc["hetero-d10", "accuracy_pct"])
        assert milp.loc["hetero-d20", "note"] == "no placement (time_limit)"
        assert (data[data["config"] == "greedy"]["accuracy_pct"] == 50.0).all()
        ax = fig.axes[0]
        assert {f"[1] milp/highs/compact at {at[0]}: proved infeasible",  # fig35: keys, listed under the panel
                f"[2] milp/highs/compact at {at[1]}: no placement (time_limit)"} <= {t.get_text() for t in ax.texts}
        crosses = [ln for ln in ax.lines if ln.get_marker() == "X"]
        assert len(crosses) == 2 and all(list(ln.get_ydata()) == [0] for ln in crosses)
        assert sorted(float(ln.get_xdata()[0]) for ln in crosses) == sorted(milp[x].astype(float))
    plt.close("all")


def test_accuracy_points_that_mix_scored_and_unscored_runs_say_how_many_they_cover(tmp_path, monkeypatch):
    """Two MILP runs at one point (10 devices, 30 % LG Nexus): one with a placement (accuracy 50 %),
    one stopped at its limit with none. The point is their scored mean, hollow and labelled "no
    placement (time_limit); 1 of 2 runs scored", and the CSV's ``point_runs`` says "1 of 2 runs
    scored" on both rows (before: only the note, as if the 50 % covered both runs)."""
    import matplotlib.pyplot as plt

    from optdist.bench import figures

    info = {"n_devices": 10, "device_types": {"stm32h7": 7, "nexus": 3}}
    scored = record("hetero-d10-a", "highs", "time_limit", 5.0, limit=60.0, **info)
    scored["requests_ok"] = 1
    greedy = record("hetero-d10-a", None, "feasible", 5.0, method="greedy", limit=None, **info)
    unscored = record("hetero-d10-b", "highs", "time_limit", None, limit=60.0, **info)
    df = figures.prepare(write(tmp_path, [scored, greedy, unscored]))
    drawn = drawn_by(monkeypatch, "_lines")
    figures.fig_devices(df, tmp_path / "fig")
    figures.fig_mix(df, tmp_path / "fig")
    for fig, stem in zip(drawn, ("fig15-accuracy-vs-devices", "fig16-accuracy-vs-mix")):
        data = pd.read_csv(tmp_path / "fig" / f"{stem}.csv")
        milp = data[data["config"] == "milp/highs/compact"]
        assert list(milp["point_runs"]) == ["1 of 2 runs scored"] * 2
        assert list(data[data["config"] == "greedy"]["point_runs"]) == ["1 of 1 runs scored"]
        x = "10" if stem.startswith("fig15") else "30"
        assert f"[1] milp/highs/compact at {x}: no placement (time_limit); 1 of 2 runs scored" in {
            t.get_text() for t in fig.axes[0].texts}
    plt.close("all")
