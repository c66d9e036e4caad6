"""Transfer learning helpers: freeze a pretrained base, give it a new head, unfreeze to fine-tune."""
from __future__ import annotations

import types
from collections.abc import Iterable

from torch import nn

__all__ = ["freeze", "unfreeze", "replace_head", "trainable_parameters"]


def _modules(target: nn.Module | Iterable[nn.Module]) -> list[nn.Module]:
    return [target] if isinstance(target, nn.Module) else list(target)


def _stay_in_eval(self: nn.Module, mode: bool = True) -> nn.Module:
    return nn.Module.train(self, False)


def freeze(target: nn.Module | Iterable[nn.Module], bn_eval: bool = True) -> None:
    """Stop gradients for every parameter of ``target``.

    With ``bn_eval`` the batch-norm layers inside also stop updating their running
    statistics (their ``train()`` is pinned to eval), as is usual for a frozen base.
    """
    for module in _modules(target):
        for p in module.parameters():
            p.requires_grad_(False)
        if bn_eval:
            for m in module.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.train = types.MethodType(_stay_in_eval, m)  # model.train() no longer reaches it
                    m.eval()


def unfreeze(target: nn.Module | Iterable[nn.Module]) -> None:
    """Let gradients flow again through ``target`` (and batch norm update its statistics)."""
    for module in _modules(target):
        for p in module.parameters():
            p.requires_grad_(True)
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and "train" in m.__dict__:
                del m.train


def replace_head(model: nn.Module, num_classes: int, attribute: str = "fc") -> nn.Module:
    """Swap the last dense layer ``model.<attribute>`` for a fresh one with ``num_classes`` outputs.

    The zoo's ResNets, GoogLeNet, Xception, DenseNet and MobileNet v1 end in global average
    pooling followed by ``fc``, so this is "GAP + new dense softmax head". Returns the new layer.
    """
    old = getattr(model, attribute, None)
    if isinstance(old, nn.Sequential):
        old = old[-1]
        container, key = getattr(model, attribute), str(len(getattr(model, attribute)) - 1)
    else:
        container, key = model, attribute
    if not isinstance(old, nn.Linear):
        raise ValueError(f"model.{attribute} is {type(old).__name__}, expected the final nn.Linear head")
    new = nn.Linear(old.in_features, num_classes).to(old.weight.device)
    setattr(container, key, new)
    return new


def trainable_parameters(model: nn.Module) -> int:
    """How many parameters the optimizer will update."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
