"""Where optdist finds its bundled data (override with environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = Path(os.environ.get("OPTDIST_MODELS", REPO_ROOT / "models"))
INSTANCES_DIR = Path(os.environ.get("OPTDIST_INSTANCES", REPO_ROOT / "instances"))
SOLVERS_DIR = Path(os.environ.get("OPTDIST_SOLVERS", REPO_ROOT / "solvers"))
PACKAGE_DATA = Path(__file__).resolve().parent / "data"
