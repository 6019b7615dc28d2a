"""Choose how many requests use each column type AND how many slots of each load value every device
gets (counts MILP; min total latency s.t. per-device bandwidth <= capacity_limit), then split the
counts into one permutation per request (bipartite b-matchings, scipy linear_sum_assignment)."""
import sys, json
from common import N, R, Assignment, alone, evaluate, inst, np
import highspy
from scipy.optimize import linear_sum_assignment
from pack import COLUMN, TYPES, column_for, NEX, RPI, mc, cc, bc

names = sys.argv[1].split(',') if len(sys.argv) > 1 else list(TYPES)
if names[0].startswith('pool:'):  # pool:K:pi_nex:pi_rpi -> the K pool columns cheapest at those prices (pool.json, owners of r1)
    _, K, pn, pr = names[0].split(':')
    pool = json.load(open('pool.json'))
    sc = {l.split()[0]: tuple(map(float, l.split()[1:])) for l in open('pool.txt')}
    names = sorted(sc, key=lambda k: sc[k][0] + float(pn) * sc[k][1] + float(pr) * sc[k][2])[:int(K)]
    for k in names: TYPES[k] = (0, [np.array(a) for a in pool[k]])
    print('types', names)
if names[0].startswith('sel:'):  # sel:K -> base types + the K pool columns cheapest at each of several price vectors
    K = int(names[0].split(':')[1])
    pool = json.load(open('pool.json'))
    sc = {l.split()[0]: tuple(map(float, l.split()[1:])) for l in open('pool.txt')}
    names = ['A', 'B', 'C', 'D', 'E'] + (['N'] if 'N' in TYPES else [])
    seenlat = set()
    for pn, pr in ((0.0209, 0.0140), (0.0209, 0.0162), (0.025, 0.012), (0.016, 0.019), (0.03, 0.01), (0.012, 0.022)):
        got = 0
        for k in sorted(sc, key=lambda k: sc[k][0] + pn * sc[k][1] + pr * sc[k][2]):
            key = (round(sc[k][0], 9), round(sc[k][1], 5), round(sc[k][2], 5))
            if key in seenlat: continue
            seenlat.add(key)
            if k not in names: names.append(k)
            got += 1
            if got >= K: break
    for k in names:
        if k not in TYPES: TYPES[k] = (0, [np.array(a) for a in pool[k]])
    print('types', len(names), names)
time_limit = float(sys.argv[2]) if len(sys.argv) > 2 else 120
out = sys.argv[3] if len(sys.argv) > 3 else None
margin = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
capb = bc[0] * (1 - margin)  # raw capacity (evaluator allows capacity_limit = cap*(1+1e-6)+1e-9)
# per type: latency, bw loads (bytes) per device slot 0..19 (request 0's source; sources only see cams)
info = {}
for t in names:
    r0, own = TYPES[t]
    lat, m, c, b = alone(r0, own)
    info[t] = (lat, b[:20].copy(), m[:20].copy(), c[:20].copy())
    print(t, 'lat %.7f' % lat, flush=True)
h = highspy.Highs(); h.setOptionValue('output_flag', False); h.setOptionValue('threads', 1)
h.setOptionValue('time_limit', time_limit); h.setOptionValue('random_seed', 0)
cols_lb, cols_ub, cost, integ = [], [], [], []
def newvar(lb, ub, c):
    cols_lb.append(lb); cols_ub.append(ub); cost.append(c); return len(cost) - 1
X = {t: newvar(0, R, info[t][0]) for t in names}
classes = {}  # (t, g) -> list of (value, mult, slots)
n = {}  # (t, g, ci, d) -> var
rows = []
def row(e, lo, hi): rows.append((e, lo, hi))
row([(X[t], 1.0) for t in names], R, R)
dev_load = {d: [] for d in range(20)}
for t in names:
    b = info[t][1]
    for g, grp in enumerate((NEX, RPI)):
        vals = {}
        for s in grp: vals.setdefault(float(b[s]), []).append(s)
        classes[t, g] = [(v, len(ss), ss) for v, ss in sorted(vals.items())]
        for ci, (v, mult, ss) in enumerate(classes[t, g]):
            vs = []
            for d in grp:
                n[t, g, ci, d] = newvar(0, R, 0.0); vs.append(n[t, g, ci, d])
                if v > 0: dev_load[d].append((n[t, g, ci, d], v))
            row([(x, 1.0) for x in vs] + [(X[t], -float(mult))], 0, 0)
        for d in grp:
            row([(n[t, g, ci, d], 1.0) for ci in range(len(classes[t, g]))] + [(X[t], -1.0)], 0, 0)
for d in range(20):
    row(dev_load[d], -highspy.kHighsInf, float(capb))
nv = len(cost)
h.addVars(nv, np.array(cols_lb, float), np.array(cols_ub, float))
h.changeColsCost(nv, np.arange(nv, dtype=np.int32), np.array(cost))
h.changeColsIntegrality(nv, np.arange(nv, dtype=np.int32), np.array([highspy.HighsVarType.kInteger] * nv))
st, ix, va, lo, hi = [], [], [], [], []
for e, l, u in rows:
    st.append(len(ix)); ix += [i for i, _ in e]; va += [v for _, v in e]; lo.append(l); hi.append(u)
h.addRows(len(rows), np.array(lo, float), np.array(hi, float), len(ix), np.array(st, dtype=np.int32), np.array(ix, dtype=np.int32), np.array(va, float))
h.run()
sol = np.round(np.array(h.getSolution().col_value)).astype(int)
print(h.modelStatusToString(h.getModelStatus()), 'obj %.9f bound %.9f' % (h.getInfo().objective_function_value, h.getInfo().mip_dual_bound), flush=True)
counts = {t: int(sol[X[t]]) for t in names if sol[X[t]] > 0}
print('counts', counts, flush=True)
# split counts into permutations
left = {k: int(sol[v]) for k, v in n.items()}
types = [t for t, c in counts.items() for _ in range(c)]
owners = []
for r, t in enumerate(types):
    own = column_for(r, t)
    perm = np.arange(N)
    for g, grp in enumerate((NEX, RPI)):
        slot_class = {}
        for ci, (v, mult, ss) in enumerate(classes[t, g]):
            for s in ss: slot_class[s] = ci
        C = np.array([[0.0 if left[t, g, slot_class[s], d] > 0 else 1.0 for d in grp] for s in grp])
        ri, cj = linear_sum_assignment(C)
        assert C[ri, cj].sum() == 0, 'no matching'
        for a, bb in zip(ri, cj):
            s, d = grp[a], grp[bb]; perm[s] = d; left[t, g, slot_class[s], d] -= 1
    owners.append([perm[a] for a in own])
ev = evaluate(inst, Assignment(owners))
print('evaluator objective %.9f feasible %s rejected %d maxbw %.6f maxmem %.4f maxcmp %.4f' % (ev.objective, ev.feasible, ev.n_rejected,
      (ev.bandwidth_used / bc).max(), (ev.memory_used / mc).max(), (ev.compute_used / cc).max()), flush=True)
if out and ev.feasible:
    Assignment(owners, {'method': 'column mix: counts MILP over column types and per-device load classes, split into permutations (primal34, benchmarks/scale/cifar20_mix/countmilp.py, trajectory columns: ' + (COLUMN or 'trajectory_columns/*.solve0.json') + ')',
                        'types': counts, 'objective_s': ev.objective, 'command': ' '.join(sys.argv)}).save(inst, out, force=True)
    print('saved', out)
