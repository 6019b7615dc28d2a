"""break36: what a fresh user broke in preset36 / warm36 / fig36.

- ``optdist.rl.train.train(train_freq=)`` (now defaulting to the preset's) took any value: 0
  divided by zero at the first gradient step, -1 or 2.5 trained and were recorded as the value used.
- ``optdist.bench.figures.gap_grid`` with a few methods (``gap_table.py --render`` on a partial
  records folder) clipped its title left and right and its colour bar's label top and bottom.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "instances" / "tiny" / "lenet-1x4-tau0.8.json"


@pytest.mark.learn
@pytest.mark.parametrize("train_freq", [0, -1, 2.5, True, "4"])
def test_train_refuses_a_train_freq_that_is_not_a_whole_number_of_steps(train_freq):
    pytest.importorskip("torch")
    from optdist.instance import load_instance
    from optdist.rl.presets import PRESETS
    from optdist.rl.train import train

    with pytest.raises(ValueError, match=r"train_freq = .*: give a whole number >= 1 of env steps per gradient step"):
        train(load_instance(TINY), PRESETS["lenet"], episodes=30, train_freq=train_freq, progress=False)


@pytest.mark.learn
def test_train_names_the_preset_whose_train_freq_is_invalid():
    pytest.importorskip("torch")
    from optdist.instance import load_instance
    from optdist.rl.presets import PRESETS
    from optdist.rl.train import train

    preset = dataclasses.replace(PRESETS["lenet"], train_freq=0)
    with pytest.raises(ValueError, match=r'train_freq = 0 \(the train_freq of preset "lenet"\)'):
        train(load_instance(TINY), preset, episodes=30, progress=False)


@pytest.mark.parametrize("n_methods", [1, 2, 5])
def test_gap_grid_keeps_its_title_and_colour_bar_label_inside_the_figure(n_methods):
    """A grid of one instance and a few methods: the title wraps to the figure's width and the
    colour bar's label to the bar's length (before: 1120 px of title on a 540 px figure)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from optdist.bench import figures

    rows = pd.DataFrame([{"instance": "set-00", "method": f"m{j}", "latency_ms": 1.0 + j, "gap_%": 1.0 + j,
                          "rejected": 0, "n_requests": 4, "feasible": True, "capacity_viol": 0, "privacy_viol": 0,
                          "placement_viol": 0} for j in range(n_methods)])
    fig, _ = figures._gap_figure(rows, [], {})
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer, box = canvas.get_renderer(), fig.bbox
    title = fig._suptitle.get_window_extent(renderer)
    label = next(ax for ax in fig.axes if ax.get_ylabel()).yaxis.label.get_window_extent(renderer)
    assert 0 <= title.x0 and title.x1 <= box.x1 and title.y1 <= box.y1, (title, box)
    assert 0 <= label.y0 and label.y1 <= box.y1 and label.x1 <= box.x1, (label, box)
    plt.close(fig)


def test_gap_table_run_by_path_imports_its_own_checkouts_optdist(tmp_path):
    """``python benchmarks/online/gap_table.py`` (by path, from anywhere) puts its folder first on
    ``sys.path``, not the cwd: from a git worktree it imported the installed ``optdist`` (the main
    checkout's), so its records and ``--render`` ran other code (decisions.py had the fix, e06906f).
    A decoy ``optdist`` on PYTHONPATH stands for the other checkout."""
    import os
    import subprocess
    import sys

    script = ROOT / "benchmarks" / "online" / "gap_table.py"
    decoy = tmp_path / "decoy" / "optdist"  # another optdist on the path after the script's folder, as an
    decoy.mkdir(parents=True)                # installed one is in a worktree (in this checkout both are the same)
    (decoy / "__init__.py").write_text("")
    code = (f"import runpy, sys; sys.path[0] = {str(script.parent)!r}; runpy.run_path({str(script)!r}); "
            "import optdist; print(optdist.__file__)")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(decoy.parent)})
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip()).resolve().is_relative_to(ROOT), run.stdout
