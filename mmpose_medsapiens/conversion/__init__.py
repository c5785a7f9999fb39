"""Writing landmark sets in the layout the configs read.

Bottom up, on :mod:`mmpose_medsapiens.utils.file_writing` (atomic,
never-overwrite writes): :mod:`.coco_landmarks` (COCO keypoint JSON) -> :mod:`.release_layout`
(``Images/`` + ``<set>_coco_<split>_annotations.json``) and
:mod:`.working_resolution_cache` (downscaled copies of a set's images).
On top, :mod:`.readers` turns public releases (ISBI 2015, Payer's hand, GU2Net
chest, Aariz, CL-Detection 2023, EchoNet-LVH) and LabelMe exports into that
layout, and :mod:`.command_line` holds the options and the error ending the
converter tools share. Each is imported on its own (``from mmpose_medsapiens.conversion.readers
import convert_isbi2015``): the modules that only write COCO files (e.g.
:mod:`mmpose_medsapiens.testing`) need not load SimpleITK and every release's
reader.
"""
from ..utils.file_writing import ensure_new_files, write_atomically
from .coco_landmarks import make_coco, write_coco
from .working_resolution_cache import build_working_resolution_cache, working_resolution_size

__all__ = [
    'make_coco', 'write_coco', 'ensure_new_files', 'write_atomically',
    'build_working_resolution_cache', 'working_resolution_size'
]
