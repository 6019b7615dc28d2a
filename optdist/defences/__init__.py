"""Defences for split inference: Laplace DP on the split tensor and DefQ input quantization.

Analytic parts (numpy only, importable without torch): :mod:`.dp` (mechanism, closed forms,
accounting), :mod:`.dp_tables` (the paper's tables and predictors), :mod:`.dp_effect` (the
per-cut answer for the placement optimizer), :mod:`.defq` (transform and table generation),
:mod:`.latency` (exit statistics and the edge/cloud latency model); :mod:`.report` adds pandas
tables and matplotlib plots. Measured parts (torch): :mod:`.dp_measure`, :mod:`.multiexit`,
:mod:`.defq_measure`.
"""
