"""The column types the other scripts mix (the start's five request types and the trajectory columns),
each relabelled to any request's source (column_for), the capacities, and the two groups of identical
devices (Nexus, RPi3).

The environment variable MIX_COLUMN chooses the trajectory columns: unset, the two of
../trajectory_columns/ ('N': solve 0, 'M': solve 2, loaded but used by no command of the README);
'none', none (the start's types alone, ../cifar20_scratch/README.md); a column file of
trajectory_bound.py --column-out, that one as 'N'."""
import os
from common import BEST, COLS, Assignment, caps, inst, load_col, np
from optdist.milp.decomposition.colgen import _rename

best = Assignment.load(inst, BEST)
TYPES = {'A': (0, best.owners[0]), 'B': (4, best.owners[4]), 'D': (11, best.owners[11]), 'E': (16, best.owners[16]),
         'C': (19, best.owners[19])}
COLUMN = os.environ.get('MIX_COLUMN')
if COLUMN is None:
    TYPES |= {'N': load_col(COLS[0]), 'M': load_col(COLS[1])}
elif COLUMN != 'none':
    TYPES['N'] = load_col(COLUMN)
src = np.asarray(inst.request_source)
mc, cc, bc = caps()
NEX, RPI = list(range(0, 6)), list(range(6, 20))

def column_for(r, t):
    r0, own = TYPES[t]
    return _rename(own, int(src[r0]), int(src[r]))
