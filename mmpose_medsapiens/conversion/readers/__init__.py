"""Readers of public landmark releases, each writing the layout the configs read.

One module per release: it reads the release as distributed, checks it (errors
name the file and the sample), builds the COCO keypoint files and writes them
with :mod:`..release_layout`. The command lines in ``tools/dataset_converters/``
only parse arguments and call the ``convert_*`` function here.

- :mod:`.isbi2015`: ISBI 2015 cephalometric challenge (``head``).
- :mod:`.payer_hand`: Digital Hand Atlas, Payer et al.'s 37 landmarks (``hand``).
- :mod:`.gu2net_chest`: Shenzhen chest X-rays, GU2Net's 6 landmarks (``chest``).
- :mod:`.aariz`: Aariz cephalometric release (``aariz``).
- :mod:`.cldetection2023`: CL-Detection 2023 training release (``cldetection2023``).
- :mod:`.echonet_lvh`: EchoNet-LVH end-diastolic PLAX frames (``echonet_lvh``).
- :mod:`.labelme`: any set annotated with LabelMe points.
"""
from .aariz import AarizFormatError, convert_aariz
from .cldetection2023 import CLDetectionFormatError, convert_cldetection2023
from .echonet_lvh import EchoNetFormatError, convert_echonet_lvh, echonet_lvh_summary
from .gu2net_chest import CHEST_LANDMARKS, convert_gu2net_chest, ratios_to_pixels, read_gu2net_label
from .isbi2015 import ISBI2015_LANDMARKS, convert_isbi2015, read_isbi_annotation
from .labelme import convert_labelme, labelme_summary, read_labelme, read_names
from .payer_hand import HAND_LANDMARKS, convert_payer_hand, payer_hand_summary, read_payer_csv

__all__ = [
    'AarizFormatError', 'convert_aariz', 'CLDetectionFormatError', 'convert_cldetection2023',
    'EchoNetFormatError', 'convert_echonet_lvh', 'echonet_lvh_summary', 'CHEST_LANDMARKS',
    'convert_gu2net_chest', 'ratios_to_pixels', 'read_gu2net_label', 'ISBI2015_LANDMARKS',
    'convert_isbi2015', 'read_isbi_annotation', 'convert_labelme', 'labelme_summary',
    'read_labelme', 'read_names', 'HAND_LANDMARKS', 'convert_payer_hand', 'payer_hand_summary',
    'read_payer_csv'
]
