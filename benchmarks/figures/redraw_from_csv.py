"""Redraw line figures (Figs. 11, 12, 15, 16) from their own CSVs, without the sweep's records.

The sweep records behind ``benchmarks/figures/`` live under ``runs/`` and are not in the repository;
each figure's CSV, the rows it is drawn from, is. This redraws each PNG beside its CSV from that
CSV as committed (:func:`optdist.bench.figures.redraw_from_csv`; the CSV is left as it is), or
into ``--dest DIR`` (the PNG and a copy of the CSV's rows). Command (run from the repository root)::

    .venv/bin/python benchmarks/figures/redraw_from_csv.py benchmarks/figures/fig11-latency-vs-tau.csv \\
        benchmarks/figures/fig12-shared-vs-tau.csv

Exit status 2, with the file and the fix on stderr, for a CSV that is not one of those figures'
or cannot be read, a file in the folder that optdist did not draw, or a PNG that cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from optdist.bench.figures import redraw_from_csv
from optdist.io import OutputWriteError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csvs", nargs="+", metavar="CSV", help="a figure's CSV, e.g. benchmarks/figures/fig11-latency-vs-tau.csv")
    ap.add_argument("--dest", type=Path, metavar="DIR", help="write the PNGs (and the CSVs' rows) here; default: beside each CSV")
    args = ap.parse_args(argv)
    if args.dest is not None and args.dest.exists() and not args.dest.is_dir():
        ap.error(f"--dest {args.dest}: not a folder (fix: give a folder, or leave --dest out)")
    for csv in args.csvs:
        try:
            if args.dest is not None:
                args.dest.mkdir(parents=True, exist_ok=True)
            files = redraw_from_csv(csv, args.dest)
        except ValueError as e:  # the message names the file and the fix
            print(f"error: {e}", file=sys.stderr)
            return 2
        except OutputWriteError as e:  # names the file, the reason and the fix
            print(f"error: {e}", file=sys.stderr)
            return 2
        except OSError as e:
            print(f"error: {e} (fix: make the folder writable, or give --dest DIR)", file=sys.stderr)
            return 2
        print(f"figure: {files[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
