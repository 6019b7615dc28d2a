#!/usr/bin/env bash
# Regenerate every defence benchmark in this folder (run from the repository root).
# One torch thread: the machine has 2 shared cores, and oversubscribed OpenMP threads are far slower.
set -euo pipefail
export OMP_NUM_THREADS=1
# 1. ship the paper's DP tables as package data (needs the reference transcription CSV)
.venv/bin/python benchmarks/defences/build_dp_tables.py /work/shared/reference/seed001-dp-tables.csv
# 2. analytic tables and plots from the papers' data (seconds)
.venv/bin/optdist dp-tables
# 3. multi-exit CNN + DeepSloth + DefQ on MNIST (~6 min, trains the multi-exit CNN on first use)
.venv/bin/optdist defq-eval
# 4. measured DP sweep on LeNet/MNIST under the calibration attacker (the one behind models/privacy/lenet-calibrated.json),
#    shipped as optdist/data/dp_measured_lenet.json (~17 min here)
.venv/bin/optdist dp-sweep --privacy-table calibrated --install
# 5. defences inside the optimizer (reads the sweep above; ~1-6 min)
.venv/bin/python benchmarks/defences/placement/compare.py
