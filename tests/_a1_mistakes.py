"""Realistic wrong answers to assignment 1, shared by the course and the hub end-to-end tests.

``MISTAKES`` maps a graded function to the source of a plausible wrong version (each comment says
what is wrong); the tests paste them into the answer cells and expect the question to score 0.
"""
from __future__ import annotations

CONV_NO_STRIDE = '''
def conv_forward(x, w, b, stride=1, padding=0):
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = h + 2 * padding - kh + 1, wd + 2 * padding - kw + 1
    out = np.zeros((n, k, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = np.tensordot(xp[:, :, i:i + kh, j:j + kw], w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out
'''
MISTAKES = {
    # forgets the dilation: the kernel is taken to cover f pixels whatever d is
    "output_size": '''
def output_size(in_hw, kernel, stride=1, padding=0, dilation=1):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        extra = (padding[0] + padding[1], padding[2] + padding[3])
    else:
        extra = tuple(2 * p for p in pair(padding))
    return tuple((n + e - f) // s + 1 for n, e, f, s in zip(in_hw, extra, pair(kernel), pair(stride)))
''',
    # off by one: the extra padding goes before instead of after
    "same_padding": '''
def same_padding(in_hw, kernel, stride=1, dilation=1, out_hw=None):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    targets = pair(out_hw) if out_hw is not None else tuple(-(-n // s) for n, s in zip(in_hw, pair(stride)))
    pads = []
    for n, f, s, d, out in zip(in_hw, pair(kernel), pair(stride), pair(dilation), targets):
        total = max((out - 1) * s + d * (f - 1) + 1 - n, 0)
        pads += [total - total // 2, total // 2]
    return tuple(pads)
''',
    "conv_forward": CONV_NO_STRIDE,
    # only square inputs work: the height is used for both axes
    "max_pool_forward": '''
def max_pool_forward(x, size, stride=None):
    stride = stride or size
    n, c, h, _ = x.shape
    ho = (h - size) // stride + 1
    out = np.zeros((n, c, ho, ho))
    for i in range(ho):
        for j in range(ho):
            out[:, :, i, j] = x[:, :, i*stride:i*stride+size, j*stride:j*stride+size].max(axis=(2, 3))
    return out
''',
    # pools over the channel axis
    "avg_pool_forward": '''
def avg_pool_forward(x, size, stride=None):
    stride = stride or size
    n, c, h, w = x.shape
    co, ho = (c - size) // stride + 1, (h - size) // stride + 1
    out = np.zeros((n, co, ho, w))
    for i in range(co):
        for j in range(ho):
            out[:, i, j, :] = x[:, i*stride:i*stride+size, j*stride:j*stride+size, :].mean(axis=(1, 2))
    return out
''',
}
