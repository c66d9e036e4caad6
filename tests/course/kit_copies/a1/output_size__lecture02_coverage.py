# the per-axis formula of lecture 02 (notebooks/02_padding_and_stride.md), applied to the first axis as written there
def output_size(n, f, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - f) // stride + 1
