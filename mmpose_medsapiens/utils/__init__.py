from .safe_checkpoint import (CHECKPOINT_SAFE_GLOBALS, UnsafeCheckpointError,
                              safe_torch_load)

__all__ = ['CHECKPOINT_SAFE_GLOBALS', 'UnsafeCheckpointError', 'safe_torch_load']
