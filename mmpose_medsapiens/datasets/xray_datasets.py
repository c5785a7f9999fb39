"""One registered dataset per medical landmark set, with its protocol.

Each class fixes the landmark scheme, flip pairs and the calibration rule of
its set's published evaluation protocol (see README "Datasets" for sources):

=======================  ====  =========================================  ==============
class                    K     calibration                                SDR radii
=======================  ====  =========================================  ==============
ISBI2015HeadDataset      19    0.1 mm/px                                  2, 2.5, 3, 4 mm
HandXrayDataset          37    50 mm between GT landmarks 1 and 5          2, 4, 10 mm
ChestXrayDataset         6     px of the image resized to 512x512          3, 6, 9 px
LegXrayDataset           26    per image, ``leg_meta_json/<id>_meta.json``  2, 4, 10 mm
DentalCBCTDataset        16    0.18 mm/px                                 0.5, 1, 2 mm
=======================  ====  =========================================  ==============
"""
import json
import os.path as osp

from mmpose.registry import DATASETS
from .medical_landmark_dataset import MedicalLandmarkDataset
from .metainfo import landmark_metainfo

ISBI2015_HEAD_NAMES = (
    'sella', 'nasion', 'orbitale', 'porion', 'subspinale', 'supramentale', 'pogonion', 'menton',
    'gnathion', 'gonion', 'lower_incisal_incision', 'upper_incisal_incision', 'upper_lip',
    'lower_lip', 'subnasale', 'soft_tissue_pogonion', 'posterior_nasal_spine',
    'anterior_nasal_spine', 'articulare')
HAND_NAMES = tuple(f'hand_{i}' for i in range(37))
CHEST_NAMES = tuple(f'chest_{i}' for i in range(6))
LEG_LANDMARKS_PER_SIDE = 13


@DATASETS.register_module()
class ISBI2015HeadDataset(MedicalLandmarkDataset):
    """ISBI 2015 cephalometric challenge: 19 landmarks on lateral cephalograms.

    Lateral views have no left/right pairs: flips keep every label.
    """

    METAINFO = landmark_metainfo('head', ISBI2015_HEAD_NAMES)
    DEFAULT_SPACING = (0.1, 0.1)


@DATASETS.register_module()
class HandXrayDataset(MedicalLandmarkDataset):
    """Digital Hand Atlas with Payer et al.'s 37 landmarks.

    There is no pixel spacing: errors are normalised per image so that
    ground-truth landmarks 1 and 5 (0-based) are 50 mm apart, as in Payer's
    and MedSapiens' evaluation. One hand per image: identity flips.
    """

    METAINFO = landmark_metainfo('hand', HAND_NAMES)
    DEFAULT_SPACING = (1.0, 1.0)
    NORMALIZE = dict(pair=(1, 5), distance=50.0)
    SDR_RADII = (2.0, 4.0, 10.0)


@DATASETS.register_module()
class ChestXrayDataset(MedicalLandmarkDataset):
    """Shenzhen chest radiographs with GU2Net's 6 landmarks.

    Errors are reported in pixels of the image resized to 512x512, i.e. the
    spacing of an image of W x H pixels is (512 / W, 512 / H) "px@512".
    """

    METAINFO = landmark_metainfo('chest', CHEST_NAMES)
    UNIT = 'px@512'
    SDR_RADII = (3.0, 6.0, 9.0)

    def _calibration(self, img: dict) -> dict:
        img = dict(img, spacing=(512.0 / img['width'], 512.0 / img['height']))
        return super()._calibration(img)


@DATASETS.register_module()
class LegXrayDataset(MedicalLandmarkDataset):
    """MedSapiens full-leg radiographs: 13 landmarks per leg.

    Landmark ``i`` of one leg pairs with ``i + 13`` of the other, so a
    horizontal flip swaps them. The per-image isotropic spacing is read from
    ``<data_root>/<meta_dir>/<image id>_meta.json`` (``spacing`` is given as
    (row, col) and reversed to (x, y)) unless the COCO image entry has one.

    Args:
        meta_dir (str): Folder of the meta files, relative to ``data_root``.
    """

    METAINFO = landmark_metainfo(
        'legs', tuple(f'{side}_{i}' for side in ('leg_a', 'leg_b')
                      for i in range(LEG_LANDMARKS_PER_SIDE)),
        swap_pairs=[(i, i + LEG_LANDMARKS_PER_SIDE) for i in range(LEG_LANDMARKS_PER_SIDE)])
    SDR_RADII = (2.0, 4.0, 10.0)

    def __init__(self, *args, meta_dir: str = 'leg_meta_json', **kwargs):
        self.meta_dir = meta_dir
        super().__init__(*args, **kwargs)

    def _calibration(self, img: dict) -> dict:
        if 'spacing' not in img:
            stem = osp.splitext(osp.basename(img['file_name']))[0]
            path = osp.join(self.data_root or '', self.meta_dir, f'{stem}_meta.json')
            if not osp.isfile(path):
                self._fail(img['id'], f'no "spacing" in the image entry and no meta file {path}')
            try:
                with open(path) as f:
                    row, col = json.load(f)['spacing'][:2]
            except (ValueError, KeyError, TypeError) as e:
                self._fail(img['id'], f'{path}: unreadable "spacing" ({e})')
            img = dict(img, spacing=(float(col), float(row)))
        return super()._calibration(img)


@DATASETS.register_module()
class DentalCBCTDataset(MedicalLandmarkDataset):
    """Dental CBCT slices with 16 landmarks (few-shot), 0.18 mm/px."""

    METAINFO = landmark_metainfo('teeth', tuple(f'tooth_{i}' for i in range(16)))
    DEFAULT_SPACING = (0.18, 0.18)
    SDR_RADII = (0.5, 1.0, 2.0)
