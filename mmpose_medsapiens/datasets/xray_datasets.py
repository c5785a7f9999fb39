"""One registered dataset per medical landmark set, with its protocol.

Each class fixes the landmark scheme, flip pairs and the calibration rule of
its set's published evaluation protocol (see README "Datasets" for sources):

=======================  ====  =========================================  ==============
class                    K     calibration                                SDR radii
=======================  ====  =========================================  ==============
ISBI2015HeadDataset      19    0.1 mm/px                                  2, 2.5, 3, 4 mm
HandXrayDataset          37    50 mm between GT landmarks 1 and 5          2, 4, 10 mm
ChestXrayDataset         6     px of the image resized to 512x512          3, 6, 9 px
LegXrayDataset           26    per image, ``leg_meta_json`` (by ``ID``)      2, 4, 10 mm
DentalCBCTDataset        16    0.18 mm/px                                 0.5, 1, 2 mm
=======================  ====  =========================================  ==============
"""
import json
import os
import os.path as osp

from mmpose.registry import DATASETS

from ..evaluation.functional.calibration import Calibration
from .base import DatasetFormatError, MedicalLandmarkDataset
from .utils import landmark_metainfo

ISBI2015_HEAD_NAMES = (
    'sella', 'nasion', 'orbitale', 'porion', 'subspinale', 'supramentale', 'pogonion', 'menton',
    'gnathion', 'gonion', 'lower_incisal_incision', 'upper_incisal_incision', 'upper_lip',
    'lower_lip', 'subnasale', 'soft_tissue_pogonion', 'posterior_nasal_spine',
    'anterior_nasal_spine', 'articulare')
# The angle and distance measurements of the ISBI 2015 challenge's clinical
# analysis (Wang et al., "A benchmark for comparison of dental radiography
# analysis algorithms", MedIA 31, 2016, Table 2; as implemented e.g. in
# LucasL-3/Cephalometric-AI yolo-webapp/analysis.py): SNA = angle S-N-A,
# SNB = angle S-N-B, ANB = SNA - SNB (signed), FMA = angle between the S-N
# line and the mandibular plane Go-Gn, and the two face heights of FHI,
# posterior S-Go and anterior N-Me. The challenge's other four parameters
# are not single angles or distances and are not declared here: ODI and APDI
# are signed sums of line angles, FHI the ratio PFH / AFH, MW a signed
# incisor offset.
ISBI2015_MEASUREMENTS = (
    dict(name='SNA', angle=('sella', 'nasion', 'subspinale')),
    dict(name='SNB', angle=('sella', 'nasion', 'supramentale')),
    dict(name='ANB', difference=('SNA', 'SNB')),
    dict(name='FMA', line_angle=(('sella', 'nasion'), ('gonion', 'gnathion'))),
    dict(name='PFH', distance=('sella', 'gonion')),
    dict(name='AFH', distance=('nasion', 'menton')),
)
HAND_NAMES = tuple(f'hand_{i}' for i in range(37))
CHEST_NAMES = tuple(f'chest_{i}' for i in range(6))
LEG_LANDMARKS_PER_SIDE = 13


@DATASETS.register_module()
class ISBI2015HeadDataset(MedicalLandmarkDataset):
    """ISBI 2015 cephalometric challenge: 19 landmarks on lateral cephalograms.

    Lateral views have no left/right pairs: flips keep every label. The
    metric also reports the challenge's angle and distance measurements
    (:data:`ISBI2015_MEASUREMENTS`: SNA, SNB, ANB, FMA, PFH, AFH).
    """

    METAINFO = landmark_metainfo('head', ISBI2015_HEAD_NAMES)
    DEFAULT_SPACING = (0.1, 0.1)
    MEASUREMENTS = ISBI2015_MEASUREMENTS


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

    def calibration(self, img: dict) -> Calibration:
        img = dict(img, spacing=(512.0 / img['width'], 512.0 / img['height']))
        return super().calibration(img)


LEG_NAMES = tuple(f'{side}_{i}' for side in ('leg_a', 'leg_b')
                  for i in range(LEG_LANDMARKS_PER_SIDE))


@DATASETS.register_module()
class LegXrayDataset(MedicalLandmarkDataset):
    """MedSapiens full-leg radiographs: 13 landmarks per leg.

    Flips keep every label by default, as MedSapiens trains and tests (its
    ``legs.py`` metainfo has no swap pairs), so released models decode as
    they were trained. ``swap_legs_on_flip=True`` pairs landmark ``i`` of one
    leg with ``i + 13`` of the other instead, which is what a mirrored image
    shows; a model trained one way must be tested the same way.

    The per-image isotropic spacing comes from the COCO image entry's
    ``spacing`` when present, else from the release's meta files in
    ``<data_root>/<meta_dir>``: each holds ``ID``, ``spacing`` as (row, col)
    (reversed here to (x, y)), ``original_shape`` and ``gt``. The folder is
    indexed once by each file's ``ID`` (some files are not named after the
    ID they hold, e.g. ``1_meta.json`` holds ``"ID": "1001"``); an image
    whose ID no file holds falls back to ``<image id>_meta.json``, the name
    MedSapiens' evaluation opens.

    Args:
        meta_dir (str): Folder of the meta files, relative to ``data_root``.
        swap_legs_on_flip (bool): Swap the two legs' labels on horizontal
            flips. Defaults to False (MedSapiens).
    """

    METAINFO = landmark_metainfo('legs', LEG_NAMES)
    SDR_RADII = (2.0, 4.0, 10.0)
    # The release ships leg_coco_*; MedSapiens' legs configs read legs_coco_*.
    ANN_FILE_ALIASES = (('leg_coco_', 'legs_coco_'), )

    def __init__(self, *args, meta_dir: str = 'leg_meta_json',
                 swap_legs_on_flip: bool = False, **kwargs):
        self.meta_dir = meta_dir
        self._meta_index = None
        if swap_legs_on_flip:
            kwargs.setdefault('metainfo', landmark_metainfo(
                'legs', LEG_NAMES, swap_pairs=[(i, i + LEG_LANDMARKS_PER_SIDE)
                                               for i in range(LEG_LANDMARKS_PER_SIDE)]))
        super().__init__(*args, **kwargs)

    def calibration(self, img: dict) -> Calibration:
        if 'spacing' not in img:
            path = self._meta_file(img['id'])
            try:
                with open(path) as f:
                    row, col = json.load(f)['spacing'][:2]
            except (ValueError, KeyError, TypeError) as e:
                self._fail(img['id'], f'{path}: unreadable "spacing" ({e})')
            img = dict(img, spacing=(float(col), float(row)))
        return super().calibration(img)

    def _meta_file(self, img_id) -> str:
        folder = osp.join(self.data_root or '', self.meta_dir)
        if self._meta_index is None:
            self._meta_index = _index_meta_files(folder, self.ann_file)
        if str(img_id) in self._meta_index:
            return self._meta_index[str(img_id)]
        # Fallback for meta files without an "ID": the name MedSapiens opens.
        path = osp.join(folder, f'{img_id}_meta.json')
        holder = next((i for i, p in self._meta_index.items() if p == path), None)
        if holder is not None:
            self._fail(img_id, f'no "spacing" in the image entry and no meta file in {folder} '
                       f'holds "ID": "{img_id}" ({path} holds "ID": "{holder}")')
        if not osp.isfile(path):
            self._fail(img_id, f'no "spacing" in the image entry, no meta file in {folder} '
                       f'holds "ID": "{img_id}" and there is no {path}')
        return path


def _index_meta_files(folder: str, ann_file: str) -> dict:
    """``{ID: path}`` of the ``*_meta.json`` files in ``folder`` (read once)."""
    index = {}
    if not osp.isdir(folder):
        return index
    for name in sorted(os.listdir(folder)):
        if not name.endswith('_meta.json'):
            continue
        path = osp.join(folder, name)
        try:
            with open(path) as f:
                meta_id = json.load(f).get('ID')
        except (ValueError, AttributeError) as e:
            raise DatasetFormatError(f'{ann_file}: leg meta file {path} is not a JSON '
                                     f'object ({e})') from e
        if meta_id is None:
            continue
        if str(meta_id) in index:
            raise DatasetFormatError(f'{ann_file}: leg meta files {index[str(meta_id)]} and '
                                     f'{path} both hold "ID": "{meta_id}"')
        index[str(meta_id)] = path
    return index


@DATASETS.register_module()
class DentalCBCTDataset(MedicalLandmarkDataset):
    """Dental CBCT slices with 16 landmarks (few-shot), 0.18 mm/px."""

    METAINFO = landmark_metainfo('teeth', tuple(f'tooth_{i}' for i in range(16)))
    DEFAULT_SPACING = (0.18, 0.18)
    SDR_RADII = (0.5, 1.0, 2.0)
