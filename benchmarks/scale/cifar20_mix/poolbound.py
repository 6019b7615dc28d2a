"""LP bound of a column pool (pool.txt of hyb2.py, in the current folder): the least total latency of
20 requests using any fractional mix of the pool's columns with the Nexus and RPi3 group bandwidth
totals <= share x capacity. countmilp.py over columns of this pool adds integrality and per-device
capacities, so its objective is never below the value at share 1.0."""
from scipy.optimize import linprog
S = {ln.split()[0]: tuple(map(float, ln.split()[1:])) for ln in open('pool.txt')}
n = list(S)
for share in (0.993, 1.0):
    r = linprog([S[k][0] for k in n], A_ub=[[S[k][1] for k in n], [S[k][2] for k in n]], b_ub=[6 * share, 14 * share],
                A_eq=[[1] * len(n)], b_eq=[20], bounds=(0, 20), method='highs')
    print('share %.3f LP %.9f' % (share, r.fun), {n[i]: round(x, 2) for i, x in enumerate(r.x) if x > 1e-6})
print(len(n), 'columns; fastest alone x 20 = %.9f' % (20 * min(s[0] for s in S.values())))
