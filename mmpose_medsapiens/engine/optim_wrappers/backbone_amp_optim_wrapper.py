"""Mixed precision for ``--amp`` on GPUs: the backbone autocast, fp16 loss-scaled."""
import torch
from mmengine.optim import AmpOptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from .backbone_autocast import BackboneAutocastMixin


def native_bf16(device=None) -> bool:
    """Whether the CUDA device computes bfloat16 natively (compute capability >= 8.0).

    ``torch.cuda.is_bf16_supported()`` also answers True where bf16 is only
    emulated (slower than fp16), so the capability decides.

    Args:
        device (int | torch.device, optional): Default: the current device.
    """
    return torch.cuda.is_available() and torch.cuda.get_device_capability(device)[0] >= 8


def resolve_amp_dtype(dtype='auto') -> str:
    """``'auto'`` (or ``None``) -> ``'bfloat16'`` on GPUs that compute it natively,
    else ``'float16'``.

    Args:
        dtype (str | torch.dtype | None): What the config asks for.
    """
    if dtype in ('auto', None):
        return 'bfloat16' if native_bf16() else 'float16'
    if isinstance(dtype, torch.dtype):
        return str(dtype).replace('torch.', '')
    if dtype not in ('float16', 'bfloat16'):
        raise ValueError(f'mixed precision dtype must be "auto", "float16" or "bfloat16", '
                         f'got {dtype!r}')
    return dtype


@OPTIM_WRAPPERS.register_module()
class BackboneAmpOptimWrapper(BackboneAutocastMixin, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` with autocast on the backbone only.

    Stock ``AmpOptimWrapper`` autocasts the whole model: in bfloat16 MMPose's
    ``HeatmapHead.loss`` then fails converting bf16 heatmaps to numpy for its
    accuracy. Here the head, its loss and accuracy stay in float32
    (:class:`BackboneAutocastMixin`).

    Args:
        dtype (str): ``'auto'`` (default): bfloat16 on GPUs of compute
            capability 8.0 and up (A100, H100, RTX 30xx and later), float16
            on older ones; or ``'bfloat16'`` / ``'float16'``.
        loss_scale (str | float | dict, optional): As ``AmpOptimWrapper``'s.
            Default: ``'dynamic'`` for float16; none for bfloat16, which has
            float32's exponent range and cannot underflow where fp16 does.
        **kwargs: See :class:`mmengine.optim.AmpOptimWrapper`.
    """

    def __init__(self, dtype='auto', loss_scale=None, **kwargs):
        dtype = resolve_amp_dtype(dtype)
        if loss_scale is None:
            loss_scale = 'dynamic' if dtype == 'float16' else dict(enabled=False)
        super().__init__(loss_scale=loss_scale, dtype=dtype, **kwargs)
