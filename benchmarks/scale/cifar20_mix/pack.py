"""The column types the other scripts mix (the start's five request types and the two trajectory
columns), each relabelled to any request's source (column_for), the capacities, and the two groups of
identical devices (Nexus, RPi3)."""
from common import BEST, COLS, Assignment, caps, inst, load_col, np
from optdist.milp.decomposition.colgen import _rename

best = Assignment.load(inst, BEST)
TYPES = {'A': (0, best.owners[0]), 'B': (4, best.owners[4]), 'D': (11, best.owners[11]), 'E': (16, best.owners[16]),
         'C': (19, best.owners[19]), 'N': load_col(COLS[0]), 'M': load_col(COLS[1])}
src = np.asarray(inst.request_source)
mc, cc, bc = caps()
NEX, RPI = list(range(0, 6)), list(range(6, 20))

def column_for(r, t):
    r0, own = TYPES[t]
    return _rename(own, int(src[r0]), int(src[r]))
