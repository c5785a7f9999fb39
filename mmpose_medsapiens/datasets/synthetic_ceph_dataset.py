"""Dataset class of the procedurally drawn cephalogram-like demo set."""
from mmpose.registry import DATASETS
from .medical_landmark_dataset import MedicalLandmarkDataset
from .metainfo import landmark_metainfo
from .synthetic import SYNTHETIC_LANDMARK_NAMES


@DATASETS.register_module()
class SyntheticCephDataset(MedicalLandmarkDataset):
    """Synthetic lateral "cephalograms" written by ``tools/demo.py``.

    Lateral views have no left/right landmark pairs, so horizontal flips map
    every landmark to itself. Pixel spacing comes from each image entry.
    """

    METAINFO = landmark_metainfo('synthetic_ceph', SYNTHETIC_LANDMARK_NAMES)
