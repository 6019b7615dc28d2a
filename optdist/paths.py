"""Where optdist finds its bundled data (override with environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# a variable set empty (``OPTDIST_MODELS=$UNSET``) is unset, not the working folder
MODELS_DIR = Path(os.environ.get("OPTDIST_MODELS") or REPO_ROOT / "models")
INSTANCES_DIR = Path(os.environ.get("OPTDIST_INSTANCES") or REPO_ROOT / "instances")
SOLVERS_DIR = Path(os.environ.get("OPTDIST_SOLVERS") or REPO_ROOT / "solvers")
PACKAGE_DATA = Path(__file__).resolve().parent / "data"
