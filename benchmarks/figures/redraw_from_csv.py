"""Redraw line figures (Figs. 11, 12, 15, 16) from their own CSVs, without the sweep's records.

The sweep records behind ``benchmarks/figures/`` live under ``runs/`` and are not in the repository;
each figure's CSV, the rows it is drawn from, is. This redraws each PNG beside its CSV from that
CSV as committed (:func:`optdist.bench.figures.redraw_from_csv`; the CSV is rewritten with the
same rows). Command (run from the repository root)::

    .venv/bin/python benchmarks/figures/redraw_from_csv.py benchmarks/figures/fig11-latency-vs-tau.csv \\
        benchmarks/figures/fig12-shared-vs-tau.csv

Exit status 2, with the file and the fix on stderr, for a CSV that is not one of those figures'
or cannot be read, or a PNG that cannot be written.
"""

from __future__ import annotations

import sys

from optdist.bench.figures import redraw_from_csv


def main(csvs: list[str]) -> int:
    if not csvs:
        print("usage: redraw_from_csv.py CSV [CSV ...] (fix: give a figure's CSV, e.g. "
              "benchmarks/figures/fig11-latency-vs-tau.csv)", file=sys.stderr)
        return 2
    for csv in csvs:
        try:
            files = redraw_from_csv(csv)
        except ValueError as e:  # the message names the file and the fix
            print(f"error: {e}", file=sys.stderr)
            return 2
        except OSError as e:
            print(f"error: {e} (fix: make the CSV's folder writable)", file=sys.stderr)
            return 2
        print(f"figure: {files[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
