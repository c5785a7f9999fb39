"""The newer lateral-cephalogram sets: Aariz and CL-Detection 2023.

=======================  ====  ===========================================  ===============
class                    K     calibration                                  SDR radii
=======================  ====  ===========================================  ===============
AarizDataset             29    per image, the release CSV's ``pixel_size``  2, 2.5, 3, 4 mm
CLDetection2023Dataset   38    per image, the challenge JSON's ``scale``    2, 2.5, 3, 4 mm
=======================  ====  ===========================================  ===============

Both keep the spacing in each COCO image entry (written by
``tools/dataset_converters/aariz_to_coco.py`` and
``cldetection2023_to_coco.py``); an entry without one is an error, never a
default. Lateral views: flips keep every label.
"""
from mmpose.registry import DATASETS

from .base import MedicalLandmarkDataset
from .utils import landmark_metainfo

# Aariz's 29 landmarks in the order of its release files (the author code's
# ANATOMICAL_LANDMARKS, manwaarkhd/aariz-cephalometric-dataset config.py):
# (symbol in the annotation JSON, title in the JSON, name here).
AARIZ_LANDMARKS = (
    ('A', 'A-point', 'a_point'),
    ('ANS', 'Anterior Nasal Spine', 'anterior_nasal_spine'),
    ('B', 'B-point', 'b_point'),
    ('Me', 'Menton', 'menton'),
    ('N', 'Nasion', 'nasion'),
    ('Or', 'Orbitale', 'orbitale'),
    ('Pog', 'Pogonion', 'pogonion'),
    ('PNS', 'Posterior Nasal Spine', 'posterior_nasal_spine'),
    ('Pn', 'Pronasale', 'pronasale'),
    ('R', 'Ramus', 'ramus'),
    ('S', 'Sella', 'sella'),
    ('Ar', 'Articulare', 'articulare'),
    ('Co', 'Condylion', 'condylion'),
    ('Gn', 'Gnathion', 'gnathion'),
    ('Go', 'Gonion', 'gonion'),
    ('Po', 'Porion', 'porion'),
    ('LPM', 'Lower 2nd PM Cusp Tip', 'lower_2nd_pm_cusp_tip'),
    ('LIT', 'Lower Incisor Tip', 'lower_incisor_tip'),
    ('LMT', 'Lower Molar Cusp Tip', 'lower_molar_cusp_tip'),
    ('UPM', 'Upper 2nd PM Cusp Tip', 'upper_2nd_pm_cusp_tip'),
    ('UIA', 'Upper Incisor Apex', 'upper_incisor_apex'),
    ('UIT', 'Upper Incisor Tip', 'upper_incisor_tip'),
    ('UMT', 'Upper Molar Cusp Tip', 'upper_molar_cusp_tip'),
    ('LIA', 'Lower Incisor Apex', 'lower_incisor_apex'),
    ('Li', 'Labrale inferius', 'labrale_inferius'),
    ('Ls', 'Labrale superius', 'labrale_superius'),
    ('N`', 'Soft Tissue Nasion', 'soft_tissue_nasion'),
    ('Pog`', 'Soft Tissue Pogonion', 'soft_tissue_pogonion'),
    ('Sn', 'Subnasale', 'subnasale'),
)
AARIZ_NAMES = tuple(name for _, _, name in AARIZ_LANDMARKS)
# The challenge JSON names its landmarks "1" ... "38".
CLDETECTION2023_NAMES = tuple(f'landmark_{i}' for i in range(1, 39))


@DATASETS.register_module()
class AarizDataset(MedicalLandmarkDataset):
    """Aariz: 1000 lateral cephalograms from 7 devices, 29 landmarks.

    Khalid et al., "Aariz: A Benchmark Dataset for Automatic Cephalometric
    Landmark Detection and CVM Stage Classification" (Sci. Data 2025). The
    pixel spacing differs by device and comes from each image entry; each
    entry also keeps the device and the CVM stage (copied by the converter).
    The metric reports SNA, SNB and ANB (= SNA - SNB) in degrees.
    """

    METAINFO = landmark_metainfo('aariz', AARIZ_NAMES)
    MEASUREMENTS = (
        dict(name='SNA', angle=('sella', 'nasion', 'a_point')),
        dict(name='SNB', angle=('sella', 'nasion', 'b_point')),
        dict(name='ANB', difference=('SNA', 'SNB')),
    )


@DATASETS.register_module()
class CLDetection2023Dataset(MedicalLandmarkDataset):
    """CL-Detection 2023 (MICCAI challenge): 600 cephalograms, 3 centres, 38 landmarks.

    Landmark ``landmark_<n>`` is the challenge's landmark ``"<n>"``; images
    are the padded stack's slices with the padding removed, each with the
    challenge's per-image spacing.
    """

    METAINFO = landmark_metainfo('cldetection2023', CLDETECTION2023_NAMES)
