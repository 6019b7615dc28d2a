"""fig36: benchmarks/online/gap_table.png is a grid (instance x method) of gaps, with every
rejection and violation written, with its count, in its cell; every instance and method of the
table's frame in it; no text out of its cell or out of the figure."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from .conftest import load_script
from .test_bench_figures import drawn_by


@pytest.fixture
def gap_table(tmp_path, monkeypatch):
    """benchmarks/online/gap_table.py reading the committed records, writing into ``tmp_path``."""
    mod = load_script("benchmarks/online/gap_table.py")
    monkeypatch.setattr(mod, "HERE", tmp_path)
    return mod


def _inside(inner, outer, slack: float = 0.5) -> bool:
    return (inner.x0 >= outer.x0 - slack and inner.x1 <= outer.x1 + slack and inner.y0 >= outer.y0 - slack
            and inner.y1 <= outer.y1 + slack)


def test_committed_gap_table_figure_holds_every_instance_and_method_and_mark(gap_table, tmp_path, monkeypatch):
    """Rendered from the committed records: one row per instance and one column per method of the
    frame the table is made of; each cell says what gap_cell says of its row (rejections and
    violations with their counts, hatched) or "not run"; each text inside its cell, and every
    text of the figure inside the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    from optdist.bench.figures import gap_cell

    drawn = drawn_by(monkeypatch, "_gap_figure")
    gap_table.render()
    assert (tmp_path / "gap_table.png").read_bytes()[:4] == b"\x89PNG"
    df = gap_table.table()
    df = df[df["method"] != gap_table.EXACT]
    fig, written = drawn[0]
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    blocks = fig.axes[:-1]  # the last: the colour bar
    assert [ax.get_title(loc="left") for ax in blocks] == list(dict.fromkeys(map(gap_table.block, df["instance"])))
    names = [t.get_text().split("\n")[0] for ax in blocks for t in ax.get_yticklabels()]
    assert names == list(dict.fromkeys(df["instance"]))
    methods = [t.get_text().replace("\n", " ").replace("\u00a0", " ") for t in blocks[0].get_xticklabels()]
    assert methods == [m for m in gap_table.METHODS if m in set(df["method"])]
    assert set(methods) == set(df["method"])
    df = df.assign(caveat=df.apply(lambda r: "\n".join(textwrap.fill(c, 20) for c in gap_table.caveats(r)), axis=1))
    cells = {(r["instance"], r["method"]): r for _, r in df.iterrows()}
    expected = [gap_cell(cells[n, m]) if (n, m) in cells else ("not run", False) for n in names for m in methods]
    assert written == [text for text, _ in expected]
    marks = [text for text, marked in expected if marked]
    assert any("rejects 124/250" in t for t in marks) and "3615 privacy viol." in marks  # the hetero sets' greedy, per-layer
    # rows whose plan had more offline help say so under their gap (as the md's cells do)
    assert written[names.index("cifar-20x20-nexus-rpi3") * len(methods) + methods.index("plan-guided")].endswith(
        "plan started from a\ngiven placement")
    assert written[names.index("mixed-8x6-nexus-rpi3") * len(methods) + methods.index("plan-rollout")].endswith(
        "polish 480 s")
    figure = fig.bbox
    at = 0
    for ax in blocks:
        rows = len(ax.get_yticklabels())
        hatched = sorted((round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in ax.patches if p.get_hatch())
        assert hatched == [(k // len(methods), k % len(methods)) for k, (_, marked) in
                           enumerate(expected[at:at + rows * len(methods)]) if marked]
        for t in ax.texts:
            j, i = t.get_position()
            cell = Bbox(ax.transData.transform([(j - 0.5, i + 0.5), (j + 0.5, i - 0.5)]))
            assert _inside(t.get_window_extent(renderer), cell), (t.get_text(), names[at // len(methods) + i])
        at += rows * len(methods)
    texts = [t for ax in fig.axes for t in (*ax.texts, *ax.get_yticklabels(), *ax.get_xticklabels(), ax.title,
                                            ax._left_title, ax.yaxis.label) if t.get_text() and t.get_visible()]
    assert all(_inside(t.get_window_extent(renderer), figure) for t in [*texts, fig._suptitle])
    plt.close("all")


def test_gap_cell_says_what_broke_with_its_count():
    from optdist.bench.figures import gap_cell

    base = {"instance": "a", "method": "m", "latency_ms": 5.0, "gap_%": 1.234, "rejected": 0, "n_requests": 8,
            "feasible": True, "capacity_viol": 0, "privacy_viol": 0, "placement_viol": 0}
    assert gap_cell(pd.Series(base)) == ("1.2 %", False)
    assert gap_cell(pd.Series({**base, "gap_%": -2e-10})) == ("0.00 %", False)  # round-off below the optimum
    assert gap_cell(pd.Series({**base, "gap_%": 376.87})) == ("377 %", False)
    assert gap_cell(pd.Series({**base, "gap_%": None, "rejected": 2, "privacy_viol": 48, "feasible": False})) == (
        "rejects 2/8\n48 privacy viol.", True)
    assert gap_cell(pd.Series({**base, "gap_%": None, "capacity_viol": 3, "feasible": False})) == (
        "3 capacity viol.", True)
    assert gap_cell(pd.Series({**base, "gap_%": None, "feasible": False})) == ("infeasible", True)
    assert gap_cell(pd.Series({**base, "gap_%": None, "latency_ms": None})) == ("no placement", True)
    assert gap_cell(pd.Series({**base, "gap_%": None})) == ("feasible,\nno reference", False)


def test_gap_grid_bolds_the_lowest_gap_and_says_not_run(tmp_path, monkeypatch):
    """The lowest gap of an instance is bold (ties too); a rejecting method with a lower latency is
    not; a pair with no row reads "not run" (grey italic, no colour)."""
    import matplotlib.pyplot as plt

    from optdist.bench import figures

    row = {"n_requests": 4, "rejected": 0, "feasible": True, "capacity_viol": 0, "privacy_viol": 0, "placement_viol": 0}
    rows = pd.DataFrame([
        {**row, "instance": "a", "method": "greedy", "latency_ms": 1.0, "gap_%": None, "rejected": 1, "feasible": False},
        {**row, "instance": "a", "method": "plan-guided", "latency_ms": 2.0, "gap_%": 0.5},
        {**row, "instance": "a", "method": "plan-rollout", "latency_ms": 2.0, "gap_%": 0.5},
        {**row, "instance": "b", "method": "greedy", "latency_ms": 3.0, "gap_%": 10.0},
        {**row, "instance": "b", "method": "plan-guided", "latency_ms": 4.0, "gap_%": 20.0},
    ])
    drawn = drawn_by(monkeypatch, "_gap_figure")
    written = figures.gap_grid(rows, tmp_path / "grid.png", methods=["plan-rollout", "plan-guided"])
    assert written == ["0.50 %", "0.50 %", "rejects 1/4", "not run", "20 %", "10 %"]  # columns in `methods` order
    texts = drawn[0][0].axes[0].texts
    assert [t.get_fontweight() for t in texts] == ["bold", "bold", "normal", "normal", "normal", "bold"]
    assert texts[3].get_fontstyle() == "italic"
    with pytest.raises(ValueError, match="no rows"):
        figures.gap_grid(rows.iloc[:0], tmp_path / "none.png")
    plt.close("all")
