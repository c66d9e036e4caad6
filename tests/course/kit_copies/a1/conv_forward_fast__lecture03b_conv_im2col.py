# copied from notebooks/03b_learning_convolutions.md: conv_im2col (one channel, one filter, stride 1), renamed
import numpy as np


def conv_forward_fast(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[-2:]
    h_out, w_out = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    patches = np.empty((h_out * w_out, kh * kw))
    for i, j in np.ndindex(h_out, w_out):
        patches[i * w_out + j] = x[0, 0, i:i + kh, j:j + kw].ravel()   # one patch -> one row
    return (patches @ w[0, 0].ravel()).reshape(1, 1, h_out, w_out) + b[0]
