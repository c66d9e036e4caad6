# copied from cnnlab/ops/pool.py: avg_pool2d, renamed (it calls cnnlab.ops' own pooling machinery)
def avg_pool_forward(x, size, stride=None):
    from cnnlab.ops.pool import _pool

    return _pool("avg", x, size, stride, 0)
