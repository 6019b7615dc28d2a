"""Mix column types over requests, pack each column's per-device bandwidth over identical devices
(a permutation per request within nexus and within rpi3) by a MILP minimising the busiest device's load."""
import sys, json
from common import BEST, COLS, N, R, Assignment, alone, caps, evaluate, inst, load_col, np
import highspy
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

def pack(counts, time_limit=60, out=None):
    types = [t for t, n in counts.items() for _ in range(n)]
    assert len(types) == R
    loads, cols = [], []
    for r, t in enumerate(types):
        own = column_for(r, t)
        lat, m, c, b = alone(r, own)
        loads.append(b); cols.append(own)
    h = highspy.Highs(); h.setOptionValue('output_flag', False); h.setOptionValue('threads', 1)
    h.setOptionValue('time_limit', float(time_limit)); h.setOptionValue('random_seed', 0)
    scale = bc[0]
    u = h.addVariable(lb=0, ub=2, obj=1.0)
    y = {}
    for r in range(R):
        for grp in (NEX, RPI):
            for s in grp:
                for d in grp:
                    y[r, s, d] = h.addBinary()
    for r in range(R):
        for grp in (NEX, RPI):
            for s in grp:
                h.addConstr(sum(y[r, s, d] for d in grp) == 1)
            for d in grp:
                h.addConstr(sum(y[r, s, d] for s in grp) == 1)
    for grp in (NEX, RPI):
        for d in grp:
            h.addConstr(sum(float(loads[r][s] / scale) * y[r, s, d] for r in range(R) for grp2 in [grp] for s in grp if loads[r][s] > 0) - u <= 0)
    # hint: identity is a start
    h.run()
    info = h.getInfo(); st = h.getModelStatus()
    sol = h.getSolution().col_value
    val = sol[u.index]
    print(counts, 'status', h.modelStatusToString(st), 'max load %.5f' % val, 'bound %.5f' % info.mip_dual_bound, flush=True)
    # build owners
    owners = []
    for r in range(R):
        perm = np.arange(N)
        for grp in (NEX, RPI):
            for s in grp:
                for d in grp:
                    if sol[y[r, s, d].index] > 0.5:
                        perm[s] = d
        owners.append([perm[a] for a in cols[r]])
    ev = evaluate(inst, Assignment(owners))
    print(' evaluator objective %.9f feasible %s rejected %d maxbw %.5f' % (ev.objective, ev.feasible, ev.n_rejected, (ev.bandwidth_used / bc).max()), flush=True)
    if out and ev.feasible:
        asg = Assignment(owners, {'method': 'column mix + permutation packing MILP (primal34)', 'types': counts,
                                  'objective_s': ev.objective})
        asg.save(inst, out, force=True)
    return ev

if __name__ == '__main__':
    counts = json.loads(sys.argv[1]); tl = float(sys.argv[2]); out = sys.argv[3] if len(sys.argv) > 3 else None
    pack(counts, tl, out)
