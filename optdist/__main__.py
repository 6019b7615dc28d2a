"""``python -m optdist``: the command line (:func:`optdist.cli.main`)."""

import sys

from optdist.cli import main

sys.exit(main())
