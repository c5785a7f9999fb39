from .cpu_distributed import (CPUDistributedDataParallel, close_distributed,
                              setup_cpu_distributed)
from .safe_checkpoint import (CHECKPOINT_SAFE_GLOBALS, UnsafeCheckpointError,
                              safe_torch_load)

__all__ = [
    'CHECKPOINT_SAFE_GLOBALS', 'CPUDistributedDataParallel', 'UnsafeCheckpointError',
    'close_distributed', 'safe_torch_load', 'setup_cpu_distributed'
]
