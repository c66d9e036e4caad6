# copied from cnnlab/ops/conv.py: conv2d delegates to PyTorch's operator, renamed
import numpy as np


def conv_forward(x, w, b, stride=1, padding=0):
    import torch
    import torch.nn.functional as F

    out = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride, padding=padding)
    return out.numpy()
