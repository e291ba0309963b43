# The provider world in Python: the tc:demo/counter interface (its tally resource is in counter.py).
from wit_world import exports


class Counter(exports.Counter):
    pass
