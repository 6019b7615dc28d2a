"""The column types the other scripts mix (the start's five request types only: no trajectory
columns, issue 14 from scratch), each relabelled to any request's source (column_for), the capacities, and the two groups of
identical devices (Nexus, RPi3). With the environment variable SCRATCH_COLUMN set to a column file
(trajectory_bound.py --column-out), that column is added as type 'N'."""
import json, os
from common import BEST, Assignment, caps, inst, np
from optdist.milp.decomposition.colgen import _rename

best = Assignment.load(inst, BEST)
TYPES = {'A': (0, best.owners[0]), 'B': (4, best.owners[4]), 'D': (11, best.owners[11]), 'E': (16, best.owners[16]),
         'C': (19, best.owners[19])}
if os.environ.get('SCRATCH_COLUMN'):
    _col = json.load(open(os.environ['SCRATCH_COLUMN']))
    TYPES['N'] = (_col['r'], [np.array(o) for o in _col['owners']])
src = np.asarray(inst.request_source)
mc, cc, bc = caps()
NEX, RPI = list(range(0, 6)), list(range(6, 20))

def column_for(r, t):
    r0, own = TYPES[t]
    return _rename(own, int(src[r0]), int(src[r]))
