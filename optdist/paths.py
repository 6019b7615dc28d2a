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


def policy_files(path: str | Path) -> tuple[Path, Path]:
    """``(policy.pt, policy.json)`` of a policy given as its folder (``optdist train-rl --out``), its
    ``.pt`` or its ``.json`` (``--policy``, a run's ``policy`` option); the files need not exist."""
    path = Path(path)
    pt = path / "policy.pt" if path.is_dir() else path.with_suffix(".pt") if path.suffix == ".json" else path
    return pt, pt.with_suffix(".json")
