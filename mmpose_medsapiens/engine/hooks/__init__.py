from .adapter_checkpoint_hook import AdapterCheckpointHook
from .parameter_count_hook import ParameterCountHook, parameter_counts

__all__ = ['AdapterCheckpointHook', 'ParameterCountHook', 'parameter_counts']
