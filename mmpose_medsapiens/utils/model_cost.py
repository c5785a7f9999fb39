"""What a forward pass costs, counted without running it on real data.

Both counts work on the ``meta`` device, so models far larger than this
machine's memory (Sapiens2 5B) are measured exactly as built:

- :func:`forward_flops`: the FLOPs torch's own counter attributes to each
  operator (matmuls, convolutions, attention) of one forward pass;
- :func:`saved_activation_bytes`: the bytes autograd keeps from the forward
  pass for the backward one (frozen weights need no input kept, LoRA
  adapters do), which is what training memory grows with, beyond the
  weights themselves.
"""
from typing import Callable, Optional

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ['forward_flops', 'saved_activation_bytes', 'parameter_bytes']


def forward_flops(fn: Callable[[], object]) -> int:
    """FLOPs of ``fn()`` (one multiply-add counts 2), by torch's operator counter.

    Args:
        fn (callable): Runs the forward pass (no arguments).
    """
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn()
    return int(counter.get_total_flops())


def saved_activation_bytes(model: nn.Module, fn: Callable[[], object],
                           skip: Optional[Callable[[torch.Tensor], bool]] = None) -> int:
    """Bytes of the tensors autograd saves during ``fn()`` for the backward pass.

    Parameters (and views of them) are left out: they are counted with the
    weights. Views of one tensor count once.

    Args:
        model (nn.Module): The model whose parameters to leave out.
        fn (callable): Runs the forward pass with autograd on.
        skip (callable, optional): Tensors for which it returns True are not
            counted, e.g. the token x token attention maps that the meta
            device's reference attention keeps and CUDA's fused attention
            kernels do not.
    """
    params = {id(p) for p in model.parameters()}
    seen, kept = set(), []

    def pack(t: torch.Tensor):
        base = t if t._base is None else t._base
        if id(base) not in params and id(base) not in seen and not (skip and skip(base)):
            seen.add(id(base))
            kept.append(base)  # keeps ids unique while the pass runs
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return int(sum(t.numel() * t.element_size() for t in kept))


def parameter_bytes(model: nn.Module, trainable_only: bool = False) -> int:
    """Bytes of the model's parameters (their own dtype).

    Args:
        model (nn.Module): The model.
        trainable_only (bool): Count only parameters that require grad.
    """
    return int(sum(p.numel() * p.element_size() for p in model.parameters()
                   if p.requires_grad or not trainable_only))
