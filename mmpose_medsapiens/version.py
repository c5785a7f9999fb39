"""The package version: read by ``setup.py`` and exposed as ``mmpose_medsapiens.__version__``."""
__version__ = '0.1.0'
