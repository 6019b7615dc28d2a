"""Bandwidth prices from the pool LP (poolbound.py's, share 0.993, as hyb2.py): its two group duals
(s per capacity) divided by the device capacity, on every Nexus / RPi3 device, in the format of
benchmarks/scale/pricing_prices/ (one solve of request r3, the 'r' of the saved file), so that
trajectory_bound.py prices a column at them. Usage: python lpprices.py OUT.json AIM_PER_REQUEST
(prints the --split aim: -pi . cap + 20 x AIM_PER_REQUEST)."""
import json, sys
from common import ROOT, np
from pack import bc
from scipy.optimize import linprog
S = {ln.split()[0]: tuple(map(float, ln.split()[1:])) for ln in open('pool.txt')}
n = list(S)
r = linprog([S[k][0] for k in n], A_ub=[[S[k][1] for k in n], [S[k][2] for k in n]], b_ub=[6 * 0.993, 14 * 0.993],
            A_eq=[[1] * len(n)], b_eq=[20], bounds=(0, 20), method='highs')
pi = -r.ineqlin.marginals
saved = json.load(open(ROOT + '/benchmarks/scale/pricing_prices/cifar-20x20-nexus-rpi3.json'))
sv = dict(saved['solves'][0])
band = np.zeros(len(bc))
band[:6], band[6:20] = pi[0] / bc[0], pi[1] / bc[0]
sv['prices'] = {'memory': [0.0] * len(bc), 'compute': [0.0] * len(bc), 'bandwidth': band.tolist()}
sv['note'] = 'prices of the pool LP (cifar20_scratch/lpprices.py), not of a column generation; value/bound: the saved solve 0'
json.dump({**saved, 'solves': [sv]}, open(sys.argv[1], 'w'))
part = -float(band @ np.where(np.arange(len(bc)) < 20, bc, 0.0))
print('LP %.9f pi %s part %.6f aim %.6f' % (r.fun, pi, part, part + 20 * float(sys.argv[2])))
