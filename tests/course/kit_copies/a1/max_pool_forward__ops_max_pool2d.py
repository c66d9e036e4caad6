# copied from cnnlab/ops/pool.py: max_pool2d, renamed (it calls cnnlab.ops' own pooling machinery)
def max_pool_forward(x, size, stride=None):
    from cnnlab.ops.pool import _pool

    return _pool("max", x, size, stride, 0)
