"""Put the repository root first on ``sys.path`` and register the plugin.

The tools run from a checkout without installation, as MMPose's own do.
Importing the plugin here (not only through a config's ``custom_imports``)
also makes checkpoint loading safe for configs that forget it.
"""
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import mmpose_medsapiens  # noqa: E402,F401
