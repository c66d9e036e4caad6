"""Each small network can learn: it overfits a tiny batch of digits in a few dozen steps."""
from __future__ import annotations

import pytest
import torch

import cnnlab.models as M
from cnnlab.data.digits import load_digits_tensors

# networks with several pooling stages need 32x32; the others learn on 16x16 (4x cheaper)
SIZE = {"lenet5": 32, "alexnet": 32, "vgg11": 32, "lecture_cnn": 32, "xception": 32}
SMALL = ["lenet5", "alexnet", "vgg11", "googlenet", "resnet18", "resnet50", "se_resnet18",
         "xception", "mobilenet_v1", "mobilenet_v2", "densenet121", "lecture_cnn"]


@pytest.mark.parametrize("name", SMALL)
def test_small_model_overfits_a_tiny_batch(name, one_thread):
    torch.manual_seed(0)
    x, y = load_digits_tensors("train", size=SIZE.get(name, 16), per_class=2)  # 20 images
    model = M.create(name, num_classes=10, in_channels=1, small=True)
    for m in model.modules():  # dropout would only slow the memorisation down
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    first = None
    for _ in range(200):
        opt.zero_grad()
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
        if loss.item() < 0.05:
            break
    # batch-norm nets are judged in training mode: 20 images give poor running statistics
    acc = (logits.argmax(1) == y).float().mean().item()
    assert loss.item() < 0.1 < first and acc == 1.0, (name, first, loss.item(), acc)
