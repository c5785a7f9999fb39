from .adapter_checkpoint_hook import AdapterCheckpointHook
from .parameter_count_hook import ParameterCountHook, parameter_counts
from .strict_load_hook import StrictLoadHook

__all__ = ['AdapterCheckpointHook', 'ParameterCountHook', 'StrictLoadHook', 'parameter_counts']
