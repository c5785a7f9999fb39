from .base import DatasetFormatError, MedicalLandmarkDataset
from .cephalometric_datasets import AarizDataset, CLDetection2023Dataset
from .echo_datasets import EchoNetLVHDataset
from .generalist_dataset import (GENERALIST_METAINFO, GENERALIST_NAMES, GeneralistLayout,
                                 MedSapiensGeneralistDataset, to_generalist)
from .synthetic_ceph_dataset import SyntheticCephDataset
from .transforms import LoadMedicalImage
from .utils import landmark_metainfo
from .xray_datasets import (ChestXrayDataset, DentalCBCTDataset, HandXrayDataset,
                            ISBI2015HeadDataset, LegXrayDataset)

__all__ = [
    'DatasetFormatError', 'MedicalLandmarkDataset', 'ISBI2015HeadDataset', 'HandXrayDataset',
    'ChestXrayDataset', 'LegXrayDataset', 'DentalCBCTDataset', 'AarizDataset',
    'CLDetection2023Dataset', 'EchoNetLVHDataset', 'SyntheticCephDataset',
    'MedSapiensGeneralistDataset', 'GENERALIST_METAINFO', 'GENERALIST_NAMES', 'GeneralistLayout',
    'to_generalist', 'LoadMedicalImage', 'landmark_metainfo'
]
