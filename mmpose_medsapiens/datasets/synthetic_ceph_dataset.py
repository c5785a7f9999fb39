"""Dataset class of the procedurally drawn cephalogram-like demo set."""
from mmpose.registry import DATASETS

from .base import MedicalLandmarkDataset
from .utils import landmark_metainfo

# The ten points mmpose_medsapiens.testing draws on its synthetic cephalograms.
SYNTHETIC_LANDMARK_NAMES = (
    'sella',  # centre of the sella turcica cup
    'nasion',  # junction of the cranium outer table and the nasal bone
    'orbitale',  # lowest point of the orbit rim
    'porion',  # top of the ear-rod ring
    'anterior_nasal_spine',  # anterior tip of the palate
    'posterior_nasal_spine',  # posterior tip of the palate
    'upper_incisor_tip',  # incisal tip of the upper incisor
    'menton',  # lowest corner of the mandibular symphysis
    'gonion',  # angle of the mandible
    'pogonion',  # most anterior corner of the chin
)


@DATASETS.register_module()
class SyntheticCephDataset(MedicalLandmarkDataset):
    """Synthetic lateral "cephalograms" written by ``tools/demo.py``.

    Lateral views have no left/right landmark pairs, so horizontal flips map
    every landmark to itself. Pixel spacing comes from each image entry.
    """

    METAINFO = landmark_metainfo('synthetic_ceph', SYNTHETIC_LANDMARK_NAMES)
