"""Benchmark sweeps: specs (:mod:`.spec`), the resumable runner (:mod:`.runner`, one process
per run under a wall-clock guard, local pool or Dask), MIPLIB-style tables (:mod:`.tables`,
:mod:`.solu`) and the paper's figures (:mod:`.figures`). CLI: ``optdist bench``,
``optdist bench-table``, ``optdist bench-figures``.
"""
