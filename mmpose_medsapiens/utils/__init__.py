from .cpu_distributed import CPUDistributedDataParallel, close_distributed, setup_cpu_distributed
from .file_writing import ensure_new_files, write_atomically
from .run_setup import apply_tf32, global_batch_note, prepare_run, set_slurm_master_port
from .safe_checkpoint import (CHECKPOINT_SAFE_GLOBALS, UnsafeCheckpointError, load_weights_file,
                              safe_torch_load)
from .weights_download import WeightsDownloadError, download_weights, weights_cache_dir

__all__ = [
    'CHECKPOINT_SAFE_GLOBALS', 'CPUDistributedDataParallel', 'UnsafeCheckpointError',
    'WeightsDownloadError', 'apply_tf32', 'close_distributed', 'download_weights',
    'ensure_new_files',
    'global_batch_note', 'load_weights_file', 'prepare_run', 'safe_torch_load',
    'set_slurm_master_port', 'setup_cpu_distributed', 'weights_cache_dir', 'write_atomically'
]
