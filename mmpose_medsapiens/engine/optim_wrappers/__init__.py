from .backbone_amp_optim_wrapper import BackboneAmpOptimWrapper, native_bf16, resolve_amp_dtype
from .cpu_amp_optim_wrapper import CPUAmpOptimWrapper
from .mixed_precision import apply_amp

__all__ = ['BackboneAmpOptimWrapper', 'CPUAmpOptimWrapper', 'apply_amp', 'native_bf16',
           'resolve_amp_dtype']
