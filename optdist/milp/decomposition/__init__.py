"""Decomposition by request, one module per role (issue 11 item 5).

* :mod:`.bounds`: stage lower bounds and their propagation (data only);
* :mod:`.classes`: request classes, identical device groups, combining per-request optima;
* :mod:`.single`: one request alone on the ``tight`` Pyomo model, with rising latency cutoffs;
* :mod:`.teams`: placements that move few bytes (each request on a small team of devices);
* :mod:`.orchestrate`: :func:`~.orchestrate.solve_decomposed`, the certified decomposition;
* :mod:`.colgen` (with ``master``, ``pricing``): Dantzig-Wolfe column generation for requests
  that compete for capacity;
* :mod:`.floor`: the pricing floor, a lower bound on one request's priced cost at any prices
  (dynamic programming over owner counts), and dual steps on it.

This package imports nothing at load time, so :mod:`optdist.milp.tight` can use
:mod:`.bounds` without an import circle with :mod:`optdist.milp.solve`.
"""
