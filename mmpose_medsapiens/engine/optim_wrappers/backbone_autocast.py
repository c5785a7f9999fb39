"""Autocast of the backbone alone, shared by the mixed-precision optim wrappers."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper


def float32_outputs(outputs):
    """``outputs`` (a tensor or a nested tuple/list of tensors) in float32."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float()
    return type(outputs)(float32_outputs(o) for o in outputs)


class BackboneAutocastMixin:
    """``optim_context`` that autocasts ``model.backbone`` to ``self.cast_dtype``.

    The ViT backbone is where the compute is; the head (deconvolutions,
    heatmap loss, MMPose's accuracy, which converts heatmaps to numpy and has
    no bfloat16) stays in float32, and the backbone's features are handed to
    it in float32. Autocast runs on the device type the backbone's weights
    live on, so the same wrapper serves CUDA and CPU. Gradient checkpointing
    recomputes under the autocast state it saved, so it is covered too.
    Mixed into an :class:`OptimWrapper` subclass that sets ``cast_dtype``.
    """

    @contextmanager
    def optim_context(self, model: nn.Module):
        module = model.module if is_model_wrapper(model) else model
        target = getattr(module, 'backbone', module)
        first = next(target.parameters(), None)
        device_type = first.device.type if first is not None else 'cpu'
        autocast = torch.autocast(device_type, dtype=self.cast_dtype)

        def enter(module, args):
            autocast.__enter__()

        def leave(module, args, outputs):
            autocast.__exit__(None, None, None)
            return float32_outputs(outputs)

        handles = [target.register_forward_pre_hook(enter), target.register_forward_hook(leave)]
        try:
            # OptimWrapper's context (gradient accumulation, no_sync), not
            # AmpOptimWrapper's, which would autocast the whole model.
            with OptimWrapper.optim_context(self, model):
                yield
        finally:
            for handle in handles:
                handle.remove()
