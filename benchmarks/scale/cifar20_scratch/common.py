import numpy as np, sys
ROOT = str(__import__('pathlib').Path(__file__).resolve().parents[3])
sys.path.insert(0, ROOT)
from optdist.instance import load_instance
from optdist.assignment import Assignment
from optdist.evaluate import evaluate, capacity_limit
INST = ROOT + '/instances/coupled/cifar-20x20-nexus-rpi3.json'
BEST = ROOT + '/benchmarks/scale/cifar20_mix/start-0.466165.json'
inst = load_instance(INST)
N, R, D = inst.n_nodes, inst.n_requests, inst.n_devices
def alone(r, own):
    """evaluate request r alone with owners own (list of arrays): latency, mem, comp, bw vectors"""
    owners = [None]*R
    owners[r] = [np.asarray(a) for a in own]
    ev = evaluate(inst, Assignment(owners))
    return ev.latency[r], ev.memory_used.copy(), ev.compute_used.copy(), ev.bandwidth_used.copy()
def caps():
    return (capacity_limit(np.asarray(inst.memory, float)), capacity_limit(np.asarray(inst.compute_capacity, float)),
            capacity_limit(np.asarray(inst.bandwidth_capacity, float)))
