from .calibration import DEFAULT_SDR_RADII, Calibration, spacing_xy
from .coco_landmarks import make_coco, write_coco
from .file_writing import ensure_new_files, write_atomically
from .generalist_dataset import (GENERALIST_METAINFO, GENERALIST_NAMES, GeneralistLayout,
                                 MedSapiensGeneralistDataset, to_generalist)
from .cephalometric_datasets import AarizDataset, CLDetection2023Dataset
from .dicom_io import read_dicom, read_dicom_header
from .echo_datasets import EchoNetLVHDataset
from .image_header import probe_image
from .image_io import read_header_spacing, read_image_size, read_medical_image, window_to_uint8
from .itk_io import ItkImageInfo, read_itk_image, read_itk_info
from .measurements import measure, resolve_measurements
from .medical_landmark_dataset import DatasetFormatError, MedicalLandmarkDataset
from .metainfo import landmark_metainfo
from .synthetic_ceph_dataset import SyntheticCephDataset
from .transforms import LoadMedicalImage
from .working_resolution_cache import build_working_resolution_cache, working_resolution_size
from .xray_datasets import (ChestXrayDataset, DentalCBCTDataset, HandXrayDataset,
                            ISBI2015HeadDataset, LegXrayDataset)

__all__ = [
    'Calibration', 'DEFAULT_SDR_RADII', 'spacing_xy',
    'GENERALIST_METAINFO', 'GENERALIST_NAMES', 'GeneralistLayout', 'MedSapiensGeneralistDataset',
    'to_generalist', 'ChestXrayDataset', 'DentalCBCTDataset', 'HandXrayDataset',
    'ISBI2015HeadDataset', 'LegXrayDataset', 'AarizDataset', 'CLDetection2023Dataset',
    'EchoNetLVHDataset', 'measure', 'resolve_measurements',
    'DatasetFormatError', 'LoadMedicalImage', 'MedicalLandmarkDataset', 'SyntheticCephDataset',
    'ensure_new_files', 'write_atomically', 'landmark_metainfo', 'make_coco', 'write_coco',
    'probe_image', 'read_image_size', 'read_medical_image', 'read_header_spacing',
    'window_to_uint8', 'read_dicom', 'read_dicom_header', 'ItkImageInfo', 'read_itk_image',
    'read_itk_info', 'build_working_resolution_cache', 'working_resolution_size'
]
