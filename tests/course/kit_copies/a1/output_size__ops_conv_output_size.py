# copied from cnnlab/ops/padding.py: conv_output_size (+ effective_kernel_size), renamed, arguments in the assignment's order
from numbers import Integral


def effective_kernel_size(f, d=1):
    return d * (f - 1) + 1


def output_size(n, f, s=1, p=0, d=1):
    for value, name in ((n, "n"), (f, "f"), (s, "s"), (d, "d")):
        if (type(value) is not int and not isinstance(value, Integral)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if type(p) is int or isinstance(p, Integral):
        before = after = int(p)
    else:
        before, after = (int(v) for v in p)
    eff = effective_kernel_size(f, d)
    padded = n + before + after
    return (padded - eff) // s + 1
