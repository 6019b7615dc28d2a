"""Iterated hybrids: pool = base types + hybrids.json; each round: LP over the pool's (lat, nexus, rpi3)
totals, prices from its duals, then cut-point hybrids (X[:k] + Y[k:]) of the 12 pool columns cheapest
at those prices; keep everything (mixing.priced_pool); write pool.json (name -> owners of request r1)
and pool.txt."""
import json
from common import inst, np
from pack import NEX, RPI
from mixing import priced_pool
pool, S, _ = priced_pool(inst, [NEX, RPI], {k: [np.array(a) for a in v] for k, v in json.load(open('hybrids.json')).items()})
json.dump({k: [a.tolist() for a in v] for k, v in pool.items()}, open('pool.json', 'w'))
with open('pool.txt', 'w') as f:
    for k, s in S.items(): f.write(f'{k} {s[0]:.9f} {s[1]:.6f} {s[2]:.6f}\n')
