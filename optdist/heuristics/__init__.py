"""Baseline placement methods (no torch): the DistPrivacy greedy, per-layer and edge-cloud.

Each module exposes ``solve_*(inst, **options) -> SolveResult``; :mod:`optdist.solve`
dispatches to them. :mod:`optdist.heuristics.incremental` holds the per-node usage and the
exact incremental stage times they (and the RL environment) share.
"""
