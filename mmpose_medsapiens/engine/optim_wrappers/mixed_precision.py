"""What ``tools/train.py --amp`` makes of a config's ``optim_wrapper``."""
import torch

# Wrappers --amp may replace: the plain one, mmengine's AMP wrapper and ours.
AMP_REPLACEABLE = ('OptimWrapper', 'AmpOptimWrapper', 'BackboneAmpOptimWrapper',
                   'CPUAmpOptimWrapper')


def apply_amp(cfg) -> str:
    """Switch ``cfg.optim_wrapper`` to mixed precision of the backbone, in place.

    On CUDA: :class:`BackboneAmpOptimWrapper` with ``dtype='auto'`` (bf16 on
    compute capability >= 8.0, else fp16 with dynamic loss scaling) unless
    the config already names a ``dtype``; without CUDA:
    :class:`CPUAmpOptimWrapper` (bf16). Either way only the backbone runs
    under autocast; the head, its loss and validation stay in float32.

    Args:
        cfg (Config): The run's config.

    Returns:
        str: The wrapper type chosen.
    """
    wrapper = cfg.optim_wrapper
    current = wrapper.get('type', 'OptimWrapper')
    name = current if isinstance(current, str) else getattr(current, '__name__', str(current))
    if name not in AMP_REPLACEABLE:
        raise ValueError(f'--amp replaces the optim wrapper with a mixed-precision one, but '
                         f'the config uses the custom wrapper {name!r}: set its precision in '
                         'the config instead')
    if torch.cuda.is_available():
        wrapper.type = 'BackboneAmpOptimWrapper'
        wrapper.setdefault('dtype', 'auto')
    else:
        wrapper.type = 'CPUAmpOptimWrapper'
    return wrapper.type
