"""Hybrid columns: layers [0,k) of type X and [k,L) of type Y (same device labels), scored alone;
keep those not dominated in (latency, nexus bytes, rpi3 bytes). Writes hybrids.json."""
import json
from common import R, Assignment, evaluate, inst, np
from pack import TYPES, bc
from optdist.milp.decomposition.colgen import _rename
src = np.asarray(inst.request_source)
base = {t: _rename(own, int(src[r0]), int(src[0])) for t, (r0, own) in TYPES.items() if t != 'M'}
def score(own):
    owners = [None] * R; owners[0] = own
    ev = evaluate(inst, Assignment(owners))
    bad = [v for v in ev.violations if v.constraint not in ('admission',)]
    if bad: return None
    b = ev.bandwidth_used
    return ev.latency[0], b[:6].sum() / bc[0], b[6:20].sum() / bc[0], b[:20].max() / bc[0]
cands = []
for t, own in base.items():
    s = score(own); cands.append((t, own, s))
L = len(base['A'])
for X in base:
    for Y in base:
        if X == Y: continue
        for k in range(1, L):
            own = [a.copy() for a in base[X][:k]] + [a.copy() for a in base[Y][k:]]
            s = score(own)
            if s is not None: cands.append((f'{X}{k}{Y}', own, s))
print(len(cands), 'candidates')
# non-dominated
keep = []
for i, (n1, o1, s1) in enumerate(cands):
    dom = False
    for j, (n2, o2, s2) in enumerate(cands):
        if j != i and s2[0] <= s1[0] and s2[1] <= s1[1] + 1e-12 and s2[2] <= s1[2] + 1e-12 and (s2[:3] != s1[:3] or j < i):
            dom = True; break
    if not dom: keep.append((n1, o1, s1))
for n1, o1, s1 in sorted(keep, key=lambda x: x[2][0]):
    print(n1, 'lat %.7f nex %.4f rpi %.4f max %.4f' % s1)
json.dump({n1: [a.tolist() for a in o1] for n1, o1, s1 in keep}, open('hybrids.json', 'w'))
