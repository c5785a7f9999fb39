from .medical_landmark_dataset import DatasetFormatError, MedicalLandmarkDataset
from .metainfo import landmark_metainfo
from .synthetic_ceph_dataset import SyntheticCephDataset

__all__ = ['DatasetFormatError', 'MedicalLandmarkDataset', 'SyntheticCephDataset',
           'landmark_metainfo']
