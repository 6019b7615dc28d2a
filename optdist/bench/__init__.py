"""Benchmark sweeps: specs (:mod:`.spec`), the resumable runner (:mod:`.runner`, one process
per run under a wall-clock guard, local pool or Dask; :mod:`.worker` is that process),
MIPLIB-style tables (:mod:`.tables`, :mod:`.solu`), the paper's figures (:mod:`.figures`) and
the certified gap of the full scenario (:mod:`.lagrange` bound, :mod:`.columns` incumbent).
CLI: ``optdist bench``, ``optdist bench-table``, ``optdist bench-figures``.
"""
