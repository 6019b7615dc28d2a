"""The zoo's profile files, built by the same torch.fx tracer as any user's network (needs torch).

:func:`derive_profile` traces ``zoo.build(cnn)`` with :func:`optdist.tracing.profile_module`;
:func:`write_profile` stores the result as ``models/profiles/<cnn>.json`` (``optdist profile
NAME --rebuild``). The zoo is thus no special case: its files are ordinary profile files.
"""

from __future__ import annotations

from optdist import zoo
from optdist.profiles import Profile, profile_path, write_profile_file
from optdist.tracing import profile_module


def derive_profile(cnn: str) -> Profile:
    """Trace ``zoo.build(cnn)`` on its input shape and return its profile (MODEL.md section 2)."""
    return profile_module(zoo.build(cnn), zoo.ZOO[cnn].input_shape, cnn)


def write_profile(cnn: str) -> Profile:
    """Derive and write the profile file of zoo CNN ``cnn`` under ``models/profiles/`` (atomically)."""
    prof = derive_profile(cnn)
    write_profile_file(prof, profile_path(cnn))
    return prof
