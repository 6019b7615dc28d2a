"""Choose how many requests use each column type AND how many slots of each load value every device
gets (counts MILP; min total latency s.t. per-device bandwidth <= capacity_limit), then split the
counts into one permutation per request (bipartite b-matchings): mixing.count_milp.
Usage: countmilp.py TYPES|pool:K:pn:pr|sel:K [TIME_LIMIT [OUT [MARGIN]]]."""
import sys, json
from common import Assignment, alone, evaluate, inst, np
from mixing import count_milp, select
from pack import COLUMN, TYPES, column_for, NEX, RPI, mc, cc, bc

# sel:K's price vectors (s per device capacity, Nexus / RPi3): the pool LP's duals, final and first round
# (hyb2.py, with the solve-0 trajectory column), and those tilted (mixing.price_vectors derives them)
PRICES = ((0.0209, 0.0140), (0.0209, 0.0162), (0.025, 0.012), (0.016, 0.019), (0.03, 0.01), (0.012, 0.022))
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
    base = ['A', 'B', 'C', 'D', 'E'] + (['N'] if 'N' in TYPES else [])
    names = select(sc, base, [np.array(p) for p in PRICES], K)
    for k in names:
        if k not in TYPES: TYPES[k] = (0, [np.array(a) for a in pool[k]])
    print('types', len(names), names)
time_limit = float(sys.argv[2]) if len(sys.argv) > 2 else 120
out = sys.argv[3] if len(sys.argv) > 3 else None
margin = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0  # per-device bandwidth <= capacity_limit x (1 - margin)
cols = {t: column_for(0, t) for t in names}
for t in names:
    print(t, 'lat %.7f' % alone(0, cols[t])[0], flush=True)
asg, info = count_milp(inst, [NEX, RPI], cols, time_limit, margin=margin)
ev = evaluate(inst, asg)
print('evaluator objective %.9f feasible %s rejected %d maxbw %.6f maxmem %.4f maxcmp %.4f' % (ev.objective, ev.feasible, ev.n_rejected,
      (ev.bandwidth_used / bc).max(), (ev.memory_used / mc).max(), (ev.compute_used / cc).max()), flush=True)
if out and ev.feasible:
    Assignment(asg.owners, {'method': 'column mix: counts MILP over column types and per-device load classes, split into permutations (primal34, benchmarks/scale/cifar20_mix/countmilp.py, trajectory columns: ' + (COLUMN or 'trajectory_columns/*.solve0.json') + ')',
                            'types': info['counts'], 'objective_s': ev.objective, 'command': ' '.join(sys.argv)}).save(inst, out, force=True)
    print('saved', out)
