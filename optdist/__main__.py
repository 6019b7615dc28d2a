"""``python -m optdist``: the command line (:func:`optdist.cli.main`).

A Ctrl-C while :mod:`optdist.cli` is imported (milliseconds: the command modules are imported
inside ``main``, which handles signals from its first line on) ends with the CLI's one line and
exit status 130, not a traceback.
"""

import sys

try:
    from optdist.cli import main

    status = main()
except KeyboardInterrupt:  # before main ran: its module's imports
    command = next((w for w in sys.argv[1:] if not w.startswith("-")), None)  # as optdist.cli._command_of
    print(f"optdist{'' if command is None else ' ' + command}: interrupted", file=sys.stderr)
    status = 130  # optdist.interrupts.EXIT_INTERRUPTED, not imported: the signal may have stopped that import
sys.exit(status)
