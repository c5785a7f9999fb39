from .adapter_checkpoint import adapter_state_dict
from .backbones import *  # noqa: F401,F403
from .backbones import __all__ as _backbones_all

__all__ = ['adapter_state_dict', *_backbones_all]
