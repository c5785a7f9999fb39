"""EchoNet-LVH: left-ventricular wall and cavity landmarks on PLAX echo frames."""
from mmpose.registry import DATASETS

from .base import MedicalLandmarkDataset
from .utils import landmark_metainfo

# Top to bottom along the parasternal long-axis measurement line; the names
# of MedSapiens' EchoNet-LVH config.
ECHONET_LVH_NAMES = ('ivs_endocardial_top', 'ivs_lvid_junction', 'lvid_lvpw_junction',
                     'lvpw_endocardial_bottom')
# The end-diastolic measurements clinicians read (EchoNet-LVH's model:
# MAE 1.4 / 2.4 / 1.2 mm, Duffy et al., JAMA Cardiology 2022).
ECHONET_LVH_MEASUREMENTS = (
    dict(name='IVSd', distance=('ivs_endocardial_top', 'ivs_lvid_junction')),
    dict(name='LVIDd', distance=('ivs_lvid_junction', 'lvid_lvpw_junction')),
    dict(name='LVPWd', distance=('lvid_lvpw_junction', 'lvpw_endocardial_bottom')),
)


@DATASETS.register_module()
class EchoNetLVHDataset(MedicalLandmarkDataset):
    """End-diastolic PLAX frames of EchoNet-LVH with 4 landmarks.

    Written by ``tools/dataset_converters/echonet_lvh_to_coco.py`` from the
    release's ``MeasurementsList.csv`` and videos. The release states no
    pixel spacing; the converter derives each video's from the clinician's
    value and the pixel length of the same line (``spacing_source`` in the
    image entry says so). SDR radii 2/4/6 mm (wall thickness is ~10 mm).
    The metric reports IVSd, LVIDd and LVPWd errors in mm. Flips keep labels.
    """

    METAINFO = landmark_metainfo('echonet_lvh', ECHONET_LVH_NAMES)
    MEASUREMENTS = ECHONET_LVH_MEASUREMENTS
    SDR_RADII = (2.0, 4.0, 6.0)
