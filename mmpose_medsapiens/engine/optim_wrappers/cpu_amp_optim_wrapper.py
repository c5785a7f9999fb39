"""Mixed precision for ``--amp`` on hosts without CUDA."""
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from .backbone_autocast import BackboneAutocastMixin


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(BackboneAutocastMixin, OptimWrapper):
    """Runs the backbone under ``torch.autocast('cpu', bfloat16)``.

    mmengine's ``AmpOptimWrapper`` refuses to build without a GPU, and CPU
    autocast is bfloat16 only there. bf16 has float32's exponent range, so
    unlike fp16 it needs no loss scaling; the optimizer keeps updating
    float32 weights and the head stays in float32
    (:class:`BackboneAutocastMixin`).

    Args:
        dtype (str): Only ``'bfloat16'`` (or ``'auto'``/``None``, meaning it).
        loss_scale: Ignored (bf16 needs none); accepted so that a config
            written for ``BackboneAmpOptimWrapper`` builds on CPU.
        **kwargs: See :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype='bfloat16', loss_scale=None, **kwargs):
        if dtype not in ('bfloat16', torch.bfloat16, 'auto', None):
            raise ValueError(f'CPUAmpOptimWrapper supports bfloat16 only (CPU autocast), '
                             f'got dtype={dtype!r}')
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16
