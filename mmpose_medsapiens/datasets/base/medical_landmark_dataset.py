"""COCO-style top-down dataset of medical landmarks with physical calibration."""
import json
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import DATASETS

from ...evaluation.functional.calibration import DEFAULT_SDR_RADII, Calibration, spacing_xy
from ...evaluation.functional.measurements import resolve_measurements
from ...fileio import probe_image, read_image_size
from ..utils import landmark_metainfo


class DatasetFormatError(ValueError):
    """An annotation file or image that cannot be used, named in the message."""


@DATASETS.register_module()
class MedicalLandmarkDataset(BaseCocoStyleDataset):
    """One whole-image instance per radiograph, with its pixel calibration.

    Reads COCO keypoint JSON (``images`` / ``annotations`` / ``categories``,
    one annotation per image, ``bbox`` = whole image) as released with
    MedSapiens. Every sample gets a ``calibration`` dict that the
    :class:`MedicalLandmarkMetric` uses to turn pixel errors into physical
    units, so the metric needs no per-dataset code. Its rule is the public
    :meth:`calibration` (a :class:`Calibration`); tools without a dataloader
    ask :meth:`for_calibration` instances for it:

    - ``spacing``: (x, y) size of one pixel, in ``unit``. Taken from the
      image entry's ``spacing`` when present, else from ``spacing`` given to
      the dataset, else from the class default ``DEFAULT_SPACING``.
    - ``unit``: name of the unit of the reported errors (``'mm'``,
      ``'px@512'``...).
    - ``normalize``: ``None``, or ``dict(pair=(i, j), distance=d)`` meaning
      that errors are rescaled per image so that ground-truth landmarks ``i``
      and ``j`` lie ``d`` units apart.
    - ``radii``: the protocol's SDR radii in ``unit`` (class ``SDR_RADII``).
    - ``measurements``: the set's clinical measurements (class
      ``MEASUREMENTS`` or the ``measurements`` argument, by landmark name),
      resolved to landmark indices; the metric reports their errors.

    The whole annotation file is checked when the dataset is built; a problem
    raises :class:`DatasetFormatError` naming the file and the image id
    instead of surfacing mid-epoch or dropping the sample.

    Args:
        spacing (float | Sequence[float], optional): Pixel spacing (x, y) used
            for images without their own ``spacing``.
        check_images (bool | str): What is verified of every image file at
            build time. ``True`` (or ``'header'``): the file exists, its
            structure is intact (see :func:`probe_image`: a truncated or
            corrupt file is caught without decoding it) and its size equals
            the entry's ``width`` x ``height``. ``'decode'``: the same, but
            every image is decoded in full (slow on large sets; also catches
            damage inside compressed data). ``False``: nothing.
            Defaults to True.
        num_shots (int, optional): Keep exactly this many images (few-shot
            training), drawn without replacement from the sorted image ids by
            ``shot_seed``: the same ``(num_shots, shot_seed)`` selects the same
            images on every rank and machine.
        shot_seed (int): Seed of the few-shot draw. Defaults to 0.
        measurements (Sequence[dict], optional): Clinical measurements by
            landmark name (see :mod:`.measurements`), replacing the class's
            ``MEASUREMENTS``; ``[]`` reports none.
        **kwargs: See :class:`BaseCocoStyleDataset`.
    """

    DEFAULT_SPACING: Optional[Tuple[float, float]] = None
    UNIT: str = 'mm'
    NORMALIZE: Optional[dict] = None
    SDR_RADII: Tuple[float, ...] = DEFAULT_SDR_RADII
    #: (prefix, other prefix) pairs of annotation file names that name the
    #: same set (e.g. MedSapiens ships ``leg_coco_*`` but its configs read
    #: ``legs_coco_*``): a missing ``ann_file`` is looked for under the other.
    ANN_FILE_ALIASES: Tuple[Tuple[str, str], ...] = ()
    #: Clinical measurements of the set, by landmark name (see :mod:`.measurements`).
    MEASUREMENTS: Tuple[dict, ...] = ()

    def __init__(self,
                 *args,
                 spacing: Optional[Sequence[float]] = None,
                 check_images: Union[bool, str] = True,
                 num_shots: Optional[int] = None,
                 shot_seed: int = 0,
                 measurements: Optional[Sequence[dict]] = None,
                 **kwargs):
        self.spacing = spacing_xy(spacing) if spacing is not None else self.DEFAULT_SPACING
        if check_images not in (True, False, 'header', 'decode'):
            raise ValueError(f"check_images must be True, False, 'header' or 'decode', "
                             f'got {check_images!r}')
        self.check_images = 'header' if check_images is True else check_images
        self.num_shots = num_shots
        self.shot_seed = shot_seed
        self.measurements = self.MEASUREMENTS if measurements is None else tuple(measurements)
        self._resolved_measurements = None
        super().__init__(*args, **kwargs)

    # ---------------------------------------------------------------- loading
    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        coco = self._read_json()
        if 'num_keypoints' not in self._metainfo:
            self._metainfo.update(self._metainfo_of_file(coco))
        num_keypoints = self.metainfo['num_keypoints']
        self._metainfo['CLASSES'] = coco.get('categories', [])

        images = {}
        for img in coco['images']:
            for key in ('id', 'file_name', 'width', 'height'):
                if key not in img:
                    self._fail(img.get('id'), f'image entry lacks "{key}"')
            if img['id'] in images:
                self._fail(img['id'], 'duplicate image id')
            images[img['id']] = img

        data_list, annotated = [], set()
        for ann in coco['annotations']:
            img_id = ann.get('image_id')
            if img_id not in images:
                self._fail(img_id, f'annotation {ann.get("id")} refers to an unknown image')
            if img_id in annotated:
                self._fail(img_id, 'more than one annotation for a whole-image landmark set')
            annotated.add(img_id)
            img = images[img_id]
            kpts = ann.get('keypoints')
            if kpts is None or len(kpts) != 3 * num_keypoints:
                got = None if kpts is None else len(kpts) / 3
                self._fail(img_id, f'expected {num_keypoints} keypoints '
                           f'({3 * num_keypoints} numbers), got {got}')
            kpts = np.asarray(kpts, dtype=np.float64).reshape(-1, 3)
            if not np.isfinite(kpts).all():
                self._fail(img_id, 'keypoints contain NaN or infinity')
            visible = kpts[:, 2] > 0
            xy = kpts[visible, :2]
            outside = (xy[:, 0] < 0) | (xy[:, 1] < 0) | (xy[:, 0] > img['width'] - 1) | \
                      (xy[:, 1] > img['height'] - 1)
            if outside.any():
                idx = np.flatnonzero(visible)[outside].tolist()
                self._fail(img_id, f'keypoints {idx} lie outside the '
                           f'{img["width"]}x{img["height"]} image')
            ann.setdefault('bbox', [0, 0, img['width'], img['height']])
            img.update(img_id=img_id, img_path=osp.join(self.data_prefix['img'], img['file_name']))
            data_info = self.parse_data_info(dict(raw_ann_info=ann, raw_img_info=img))
            if self.check_images:
                self._check_image(img, data_info['img_path'])
            data_list.append(data_info)

        missing = sorted(set(images) - annotated)
        if missing:
            self._fail(missing[0], f'{len(missing)} image(s) have no annotation')
        if not data_list:
            raise DatasetFormatError(f'{self.ann_file}: no annotated images')
        return data_list, list(images.values())

    def _metainfo_of_file(self, coco: dict) -> dict:
        """Landmark names of the file's category, for a class that declares none."""
        cats = [c for c in coco.get('categories') or [] if c.get('keypoints')]
        if len(cats) != 1:
            raise DatasetFormatError(
                f'{self.ann_file}: {type(self).__name__} declares no landmarks (no METAINFO, '
                f'no metainfo given) and the file has {len(cats)} categories with "keypoints" '
                f'(one is needed to name them)')
        return parse_pose_metainfo(landmark_metainfo(cats[0].get('name') or 'landmarks',
                                                     [str(n) for n in cats[0]['keypoints']]))

    def _read_json(self) -> dict:
        if not osp.isfile(self.ann_file):
            self._use_ann_file_alias()
        if not osp.isfile(self.ann_file):
            raise DatasetFormatError(f'Annotation file {self.ann_file} does not exist')
        try:
            with get_local_path(self.ann_file) as path, open(path, encoding='utf-8') as f:
                coco = json.load(f)
        except json.JSONDecodeError as e:
            raise DatasetFormatError(
                f'{self.ann_file}: not valid JSON (truncated or corrupt?): {e}') from e
        for key in ('images', 'annotations'):
            if key not in coco:
                raise DatasetFormatError(f'{self.ann_file}: missing top-level "{key}"')
        return coco

    def _use_ann_file_alias(self) -> None:
        """Take the other spelling of a set's annotation file when only it exists."""
        folder, name = osp.split(self.ann_file)
        for ours, other in self.ANN_FILE_ALIASES:
            for a, b in ((ours, other), (other, ours)):
                if name.startswith(a) and osp.isfile(osp.join(folder, b + name[len(a):])):
                    alias = osp.join(folder, b + name[len(a):])
                    MMLogger.get_current_instance().info(
                        f'{self.ann_file} does not exist; reading {alias}')
                    self.ann_file = alias
                    return

    def _check_image(self, img: dict, path: str) -> None:
        reader = read_image_size if self.check_images == 'decode' else probe_image
        try:
            size = reader(path)
        except (FileNotFoundError, ValueError) as e:  # missing, or corrupt/truncated
            self._fail(img['id'], str(e))
        if size != (img['width'], img['height']):
            self._fail(img['id'], f'image file {path} is {size[0]}x{size[1]} pixels but the '
                       f'annotation says {img["width"]}x{img["height"]}')

    def _fail(self, img_id, message: str):
        raise DatasetFormatError(f'{self.ann_file}, image id {img_id}: {message}')

    def parse_data_info(self, raw_data_info: dict) -> dict:
        data_info = super().parse_data_info(raw_data_info)
        img = raw_data_info['raw_img_info']
        data_info['calibration'] = self.calibration(img).as_dict()
        # The box stays as MMPose's COCO parser clips it ([0, 0, W - 1, H - 1]
        # for a whole-image box), as in MedSapiens' CocoDataset: its centre and
        # scale decide the test input a released model sees.
        return data_info

    def calibration(self, img: dict) -> Calibration:
        """The error rule of one image entry: this class's protocol.

        Spacing: the entry's ``spacing``, else the ``spacing`` given to the
        dataset, else the class ``DEFAULT_SPACING``; unit, normalisation and
        SDR radii: the class's ``UNIT``, ``NORMALIZE`` and ``SDR_RADII``.
        Subclasses with other rules (chest px@512, leg meta files) override
        this method, and every tool gets the rule from here.

        Args:
            img (dict): A COCO image entry (``id``, ``width``, ``height``,
                optional ``spacing``).

        Returns:
            Calibration: The rule.

        Raises:
            DatasetFormatError: No spacing, or an invalid one; names the
                file and the image id.
        """
        if 'spacing' in img:
            spacing = img['spacing']
        elif self.spacing is not None:
            spacing = self.spacing
        else:
            self._fail(img['id'], f'no pixel spacing: the image entry has no "spacing" '
                       f'and {type(self).__name__} has no default')
        measurements = self.resolved_measurements(img['id'])
        try:
            return Calibration(spacing=spacing, unit=self.UNIT, normalize=self.NORMALIZE,
                               radii=self.SDR_RADII, measurements=measurements)
        except ValueError as e:
            self._fail(img['id'], str(e))

    def resolved_measurements(self, img_id=None) -> Tuple[dict, ...]:
        """This set's measurements with landmark indices (resolved once).

        Args:
            img_id: The sample that asks, named in the error.

        Raises:
            DatasetFormatError: A measurement names a landmark the set does
                not have, or is malformed; names the file and the sample.
        """
        if self._resolved_measurements is None:
            id2name = self.metainfo.get('keypoint_id2name') or {}
            names = [id2name[i] for i in range(len(id2name))]
            try:
                self._resolved_measurements = resolve_measurements(
                    self.measurements, names, where=type(self).__name__)
            except ValueError as e:
                self._fail(img_id, str(e))
        return self._resolved_measurements

    @classmethod
    def for_calibration(cls, **kwargs) -> 'MedicalLandmarkDataset':
        """An instance that answers :meth:`calibration` without an annotation file.

        Args:
            **kwargs: Dataset arguments the rule depends on (``spacing``;
                ``data_root`` and ``meta_dir`` for legs).
        """
        return cls(ann_file='', lazy_init=True, **kwargs)

    def _get_topdown_data_infos(self, data_list: List[dict]) -> List[dict]:
        # Every image was validated above; none is silently dropped.
        if self.num_shots is None:
            return data_list
        if not 0 < self.num_shots <= len(data_list):
            raise DatasetFormatError(f'{self.ann_file}: num_shots={self.num_shots} but the file '
                                     f'has {len(data_list)} images')
        # Sorting first makes the draw independent of the file's order.
        ordered = sorted(data_list, key=lambda info: str(info['img_id']))
        picked = np.random.default_rng(self.shot_seed).choice(
            len(ordered), self.num_shots, replace=False)
        return [ordered[i] for i in sorted(picked)]
