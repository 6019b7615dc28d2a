"""Iterated hybrids: pool = base types + hybrids.json; each round: LP over the pool's (lat, nexus, rpi3)
totals, prices from its duals, then cut-point hybrids (X[:k] + Y[k:]) of the 12 pool columns cheapest
at those prices; keep everything; write pool.json (name -> owners of request r1) and pool.txt."""
import json
from common import R, Assignment, evaluate, inst, np
from scipy.optimize import linprog
from pack import bc
pool = {k: [np.array(a) for a in v] for k, v in json.load(open('hybrids.json')).items()}
def score(own):
    owners = [None] * R; owners[0] = own
    ev = evaluate(inst, Assignment(owners))
    if [v for v in ev.violations if v.constraint != 'admission']: return None
    b = ev.bandwidth_used
    return float(ev.latency[0]), b[:6].sum() / bc[0], b[6:20].sum() / bc[0]
S = {k: score(v) for k, v in pool.items()}
L = 17
for rnd in range(3):
    names = list(S)
    res = linprog([S[n][0] for n in names], A_ub=[[S[n][1] for n in names], [S[n][2] for n in names]], b_ub=[6 * 0.993, 14 * 0.993],
                  A_eq=[[1] * len(names)], b_eq=[20], bounds=(0, 20), method='highs')
    pi = -res.ineqlin.marginals
    print('round', rnd, 'LP', res.fun, {names[i]: round(x, 2) for i, x in enumerate(res.x) if x > 1e-6}, pi, flush=True)
    rc = {n: S[n][0] + pi[0] * S[n][1] + pi[1] * S[n][2] for n in names}
    top = sorted(names, key=rc.get)[:12]
    added = 0
    seen = {tuple(np.concatenate(v)) for v in pool.values()}
    for X in top:
        for Y in top:
            if X == Y: continue
            for k in range(1, L):
                own = [a.copy() for a in pool[X][:k]] + [a.copy() for a in pool[Y][k:]]
                key = tuple(np.concatenate(own))
                if key in seen: continue
                seen.add(key)
                s = score(own)
                if s is None: continue
                if s[0] + pi[0] * s[1] + pi[1] * s[2] < rc[top[-1]]:
                    nm = f'({X}){k}({Y})'; pool[nm] = own; S[nm] = s; added += 1
    print(' added', added, flush=True)
json.dump({k: [a.tolist() for a in v] for k, v in pool.items()}, open('pool.json', 'w'))
with open('pool.txt', 'w') as f:
    for k, s in S.items(): f.write(f'{k} {s[0]:.9f} {s[1]:.6f} {s[2]:.6f}\n')
