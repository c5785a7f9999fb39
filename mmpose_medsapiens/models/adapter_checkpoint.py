"""Adapter-only state dicts: what fine-tuning changed, nothing else."""
from collections import OrderedDict

import torch.nn as nn


def adapter_state_dict(model: nn.Module) -> 'OrderedDict':
    """LoRA tensors and every trainable tensor outside the frozen backbone.

    With a LoRA backbone this is the adapters plus the head (and any buffer
    of the head, e.g. BatchNorm statistics); the frozen base weights are
    left out because the pretrained checkpoint already holds them. The
    tensors are CPU copies, whatever device the model is on.

    Args:
        model (nn.Module): A pose estimator with ``backbone`` and ``head``.
    """
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    state = OrderedDict()
    for key, value in model.state_dict().items():
        in_backbone = key.startswith('backbone.')
        if (in_backbone and '.lora_' in key) or (not in_backbone) or key in trainable:
            # A copy on the CPU: a file written on a GPU loads on a CPU-only host.
            state[key] = value.detach().to('cpu', copy=True)
    return state
