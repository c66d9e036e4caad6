# copied from cnnlab/ops/padding.py: _same_pads (TensorFlow's "same" padding along one axis), renamed
def same_padding(n, eff, s=1):
    if s == 1:
        total = eff - 1
    else:
        out = -(-n // s)  # ceil(n / s)
        total = max((out - 1) * s + eff - n, 0)
    return total // 2, total - total // 2
