"""Mixed precision for ``--amp`` on hosts without CUDA."""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


def _float32(outputs):
    if isinstance(outputs, torch.Tensor):
        return outputs.float()
    return type(outputs)(_float32(o) for o in outputs)


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """Runs the backbone under ``torch.autocast('cpu', bfloat16)``.

    mmengine's ``AmpOptimWrapper`` refuses to build without a GPU. bf16 has
    float32's exponent range, so unlike fp16 it needs no loss scaling; the
    optimizer keeps updating float32 weights. The head stays in float32:
    MMPose's heatmap accuracy converts heatmaps to numpy, which has no
    bfloat16, and the ViT backbone is where the compute is.

    Args:
        dtype (str): Only ``'bfloat16'`` is supported on CPU.
        **kwargs: See :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype: str = 'bfloat16', loss_scale=None, **kwargs):
        if dtype not in ('bfloat16', torch.bfloat16, None):
            raise ValueError(f'CPUAmpOptimWrapper supports bfloat16 only, got {dtype}')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model: nn.Module):
        module = model.module if is_model_wrapper(model) else model
        target = getattr(module, 'backbone', module)
        autocast = torch.autocast('cpu', dtype=self.cast_dtype)

        def enter(module, args):
            autocast.__enter__()

        def leave(module, args, outputs):
            autocast.__exit__(None, None, None)
            return _float32(outputs)

        handles = [target.register_forward_pre_hook(enter), target.register_forward_hook(leave)]
        try:
            with super().optim_context(model):
                yield
        finally:
            for handle in handles:
                handle.remove()
