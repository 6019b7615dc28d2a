"""Decomposition by request: single-request model, bounds, classes, Dantzig-Wolfe master, pricing, column generation."""
