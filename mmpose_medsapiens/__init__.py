"""MedSapiens for MMPose.

Importing this package registers its datasets, metric and backbone into
MMPose's registries and makes mmengine load checkpoints in weights-only mode
(see :mod:`mmpose_medsapiens.utils.safe_checkpoint`).
"""
from .utils import safe_checkpoint as _safe_checkpoint

_safe_checkpoint.install()

from .apis import *  # noqa: E402,F401,F403
from .datasets import *  # noqa: E402,F401,F403
from .engine import *  # noqa: E402,F401,F403
from .evaluation import *  # noqa: E402,F401,F403
from .models import *  # noqa: E402,F401,F403
from .version import __version__  # noqa: E402,F401
