from .cpu_distributed import (CPUDistributedDataParallel, close_distributed,
                              setup_cpu_distributed)
from .run_setup import apply_tf32, global_batch_note, prepare_run, set_slurm_master_port
from .safe_checkpoint import (CHECKPOINT_SAFE_GLOBALS, UnsafeCheckpointError,
                              safe_torch_load)

__all__ = [
    'CHECKPOINT_SAFE_GLOBALS', 'CPUDistributedDataParallel', 'UnsafeCheckpointError',
    'apply_tf32', 'close_distributed', 'global_batch_note', 'prepare_run', 'safe_torch_load',
    'set_slurm_master_port', 'setup_cpu_distributed'
]
