from .adapter_checkpoint_hook import AdapterCheckpointHook
from .parameter_count_hook import ParameterCountHook, parameter_counts
from .strict_load_hook import StrictLoadHook
from .sync_buffers_hook import SyncBuffersEveryIterHook

__all__ = ['AdapterCheckpointHook', 'ParameterCountHook', 'StrictLoadHook',
           'SyncBuffersEveryIterHook', 'parameter_counts']
