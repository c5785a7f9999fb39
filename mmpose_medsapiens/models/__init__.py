from .adapter_checkpoint import adapter_state_dict
from .backbones import *  # noqa: F401,F403
from .backbones import __all__ as _backbones_all
from .model_checkpoint import complete_model_state, load_model_checkpoint, set_checkpoint_state

__all__ = ['adapter_state_dict', 'complete_model_state', 'load_model_checkpoint',
           'set_checkpoint_state', *_backbones_all]
