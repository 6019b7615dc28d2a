"""fig35: the notes of the line figures (Figs. 11-12, 15-16) stay readable, each inside its own
panel's column and clear of every other (before: written beside each hollow point, they ran past
the narrow panels of benchmarks/figures/fig11-latency-vs-tau.png into the next one and over each
other), and Figs. 11-12 can be redrawn from their committed CSVs alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from optdist.bench import figures

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ["cifar-250x70", "hetero-250x70", "lenet-250x70", "vgg16-250x70", "vgg19-250x70"]


def tau_shaped() -> pd.DataFrame:
    """Fig. 11's frame: 5 families x 3 configs x 3 tau, greedy and rl on the same points, every run
    noted (per-layer with a long note that differs per tau)."""
    rows = []
    for f, fam in enumerate(FAMILIES):
        for config in ("greedy", "per-layer", "rl"):
            for t, tau in enumerate((0.4, 0.6, 0.8)):
                note = (f"rejects 24/250; infeasible: {3000 + 100 * f + t} violations" if config == "per-layer"
                        else f"rejects {200 + f}/250")
                rows.append({"family": fam, "config": config, "tau": tau, "seed": None,
                             "latency_per_request_s": 7.5 if config == "per-layer" else 0.3,
                             "shared_per_request_MB": 1.0, "rejected": 24, "note": note})
    return pd.DataFrame(rows)


def test_tau_figure_keeps_every_note_in_its_own_panel_and_clear_of_the_others():
    data = tau_shaped()
    fig = figures._lines(data, "family", "tau", "latency_per_request_s", "latency per request (s)",
                         "tolerated SSIM tau", "Latency per request")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    boxes = []
    for ax in fig.axes:
        mine = data[data["family"] == ax.get_title()]
        column = ax.get_window_extent(renderer)
        for t in ax.texts:  # the notes, and whatever else the panel writes (the keys at the points)
            box = t.get_window_extent(renderer)
            assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, t.get_text()
            if any(note in t.get_text() for note in mine["note"]):
                assert column.x0 - 1 <= box.x0 and box.x1 <= column.x1 + 1, (t.get_text(), box, column)
            boxes.append((t.get_text(), box))
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        assert not box_a.overlaps(box_b), (a, b)
    for ax in fig.axes:  # each note once, in its panel, saying its config and its points' tau
        mine = data[data["family"] == ax.get_title()]
        texts = [t.get_text() for t in ax.texts]
        for (config, note), g in mine.groupby(["config", "note"]):
            said = [t for t in texts if note in t and f"] {config} at" in t]
            assert len(said) == 1 and all(f"{tau:g}" in said[0] for tau in g["tau"]), (config, note, texts)
        hollow = [ln for ln in ax.lines if ln.get_markerfacecolor() == "white"]
        assert len(hollow) == len(mine)  # every noted run keeps its hollow point
    plt.close(fig)


def test_fig11_and_fig12_are_redrawn_from_their_committed_csv(tmp_path):
    for stem in ("fig11-latency-vs-tau", "fig12-shared-vs-tau"):
        for ext in ("png", "csv"):  # the PNG too, as committed (a CSV alone: tests/test_break35.py)
            shutil.copy(ROOT / "benchmarks" / "figures" / f"{stem}.{ext}", tmp_path)
        committed = (tmp_path / f"{stem}.csv").read_bytes()
        files = figures.redraw_from_csv(tmp_path / f"{stem}.csv")
        assert [f.name for f in files] == [f"{stem}.png", f"{stem}.csv"]
        assert (tmp_path / f"{stem}.png").read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / f"{stem}.csv").read_bytes() == committed  # the rows as they were, to the last digit


def test_redraw_refuses_a_csv_of_another_figure_naming_it_and_the_fix(tmp_path):
    bars = tmp_path / "fig13-total-latency.csv"
    bars.write_text("family,tau\n")
    with pytest.raises(ValueError, match=r"fig13-total-latency.csv: not the CSV of a line figure \(fix: give one of"):
        figures.redraw_from_csv(bars)
    lines = tmp_path / "fig11-latency-vs-tau.csv"
    lines.write_text("family,config,tau\nlenet,greedy,0.4\n")
    with pytest.raises(ValueError, match=r"fig11-latency-vs-tau.csv: lacks a column .*latency_per_request_s.* \(fix:"):
        figures.redraw_from_csv(lines)
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "figures" / "redraw_from_csv.py"),
                          str(tmp_path / "fig12-shared-vs-tau.csv")], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "fig12-shared-vs-tau.csv: cannot be read as a CSV" in run.stderr and "(fix:" in run.stderr
