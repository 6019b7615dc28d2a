"""Hybrid columns: layers [0,k) of type X and [k,L) of type Y (same device labels), scored alone;
keep those not dominated in (latency, nexus bytes, rpi3 bytes) (mixing.hybrids). Writes hybrids.json."""
import json
from common import inst, np
from pack import NEX, RPI, TYPES
from mixing import hybrids, score
from optdist.milp.decomposition.colgen import _rename
src = np.asarray(inst.request_source)
base = {t: _rename(own, int(src[r0]), int(src[0])) for t, (r0, own) in TYPES.items() if t != 'M'}
keep = hybrids(inst, [NEX, RPI], base)
for n1 in sorted(keep, key=lambda n: score(inst, [NEX, RPI], keep[n])[0]):
    print(n1, 'lat %.7f nex %.4f rpi %.4f' % score(inst, [NEX, RPI], keep[n1]))
json.dump({n1: [a.tolist() for a in o1] for n1, o1 in keep.items()}, open('hybrids.json', 'w'))
