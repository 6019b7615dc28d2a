"""Defences for split inference: Laplace DP on the split tensor and DefQ input quantization.

Analytic parts (numpy only, importable without torch): :mod:`.dp`, :mod:`.dp_tables`,
:mod:`.dp_effect`, :mod:`.defq`, :mod:`.latency`. Measured parts (torch): :mod:`.dp_measure`,
:mod:`.multiexit`, :mod:`.defq_measure`.
"""
