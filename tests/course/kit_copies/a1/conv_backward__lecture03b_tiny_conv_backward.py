# copied from notebooks/03b_learning_convolutions.md: correlate + tiny_conv_backward (one channel), renamed, arguments reordered
import numpy as np


def correlate(x, k):
    kh, kw = k.shape
    return np.array([[np.sum(x[i:i + kh, j:j + kw] * k) for j in range(x.shape[1] - kw + 1)]
                     for i in range(x.shape[0] - kh + 1)])


def conv_backward(dout, x, w, b, stride=1, padding=0):
    kh, kw = w.shape
    db = dout.sum()
    dw = correlate(x, dout)
    dx = correlate(np.pad(dout, ((kh - 1, kh - 1), (kw - 1, kw - 1))), w[::-1, ::-1])
    return dx, dw, db
