"""One model over several landmark sets: the generalist mix of MedSapiens.

By default the 88 channels of MedSapiens' generalist (19 head, 6 chest,
37 hand, 26 leg); a config may declare any registered landmark sets in any
order instead (``layout``), e.g. head + Aariz + EchoNet-LVH.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmpose.datasets.dataset_wrappers import CombinedDataset
from mmpose.registry import DATASETS

from ..evaluation.functional.measurements import moved_measurements
from . import xray_datasets  # noqa: F401  (registers the default layout's sets)
from .base import MedicalLandmarkDataset
from .utils import landmark_metainfo

# MedSapiens' output order: 19 head, 6 chest, 37 hand, 26 leg channels.
MEDSAPIENS_LAYOUT = ('ISBI2015HeadDataset', 'ChestXrayDataset', 'HandXrayDataset',
                     'LegXrayDataset')


class GeneralistLayout:
    """Where each landmark set's channels sit in the joint output.

    Blocks follow the given order; a set's block is named by its
    ``METAINFO['dataset_name']`` (``head``, ``aariz``...), which is also the
    ``dataset_name`` its samples carry and the metric's per-set prefix.

    Args:
        dataset_types (Sequence[str]): Registered dataset class names, each
            a :class:`MedicalLandmarkDataset` with its own ``METAINFO``.

    Raises:
        ValueError: An unknown or repeated type, or one without landmarks.
    """

    def __init__(self, dataset_types: Sequence[str]):
        self.classes, self.offsets = {}, {}
        names, swaps, offset = [], [], 0
        for type_name in dataset_types:
            cls = DATASETS.get(type_name)
            if cls is None or not issubclass(cls, MedicalLandmarkDataset):
                raise ValueError(f'generalist layout: {type_name!r} is not a registered '
                                 'MedicalLandmarkDataset')
            info = (cls.METAINFO or {}).get('keypoint_info')
            if not info:
                raise ValueError(f'generalist layout: {type_name} declares no landmarks')
            key = cls.METAINFO['dataset_name']
            if key in self.offsets:
                raise ValueError(f'generalist layout: the {key} set is given twice')
            self.classes[key], self.offsets[key] = cls, offset
            ids = {info[i]['name']: i for i in range(len(info))}
            names += [f'{key}/{info[i]["name"]}' for i in range(len(info))]
            swaps += [(offset + i, offset + ids[info[i]['swap']]) for i in range(len(info))
                      if info[i]['swap'] and i < ids[info[i]['swap']]]
            offset += len(info)
        self.names = tuple(names)
        self.metainfo = landmark_metainfo('medsapiens_generalist', names, swaps)

    def source_of(self, dataset) -> str:
        """The block of a built dataset (its exact class decides)."""
        key = next((k for k, cls in self.classes.items() if type(dataset) is cls), None)
        if key is None:
            raise TypeError(f'{type(dataset).__name__} is not in the generalist layout '
                            f'{[c.__name__ for c in self.classes.values()]}')
        return key

    def place(self, data_info: dict, source: str) -> dict:
        """Move one source sample's landmarks into the joint layout.

        Landmarks of the other sets get zero visibility, hence zero target
        weight and no part in the metric. The calibration's landmark indices
        (the hand wrist rule, measurement landmarks) move with them.

        Args:
            data_info (dict): A sample of one source dataset.
            source (str): Its block (see :meth:`source_of`).
        """
        offset, num = self.offsets[source], len(self.names)
        kpts, vis = data_info['keypoints'], data_info['keypoints_visible']
        k = kpts.shape[1]
        out_kpts = np.zeros((kpts.shape[0], num, 2), dtype=kpts.dtype)
        out_vis = np.zeros((vis.shape[0], num), dtype=vis.dtype)
        out_kpts[:, offset:offset + k] = kpts
        out_vis[:, offset:offset + k] = vis if vis.ndim == 2 else vis[..., 0]
        data_info.update(keypoints=out_kpts, keypoints_visible=out_vis)
        calibration = copy.deepcopy(data_info['calibration'])
        if calibration.get('normalize'):
            i, j = calibration['normalize']['pair']
            calibration['normalize']['pair'] = (i + offset, j + offset)
        calibration['measurements'] = moved_measurements(
            calibration.get('measurements') or (), offset)
        data_info['calibration'] = calibration
        return data_info


MEDSAPIENS_GENERALIST = GeneralistLayout(MEDSAPIENS_LAYOUT)
GENERALIST_NAMES: Tuple[str, ...] = MEDSAPIENS_GENERALIST.names
GENERALIST_METAINFO = MEDSAPIENS_GENERALIST.metainfo
GENERALIST_OFFSETS: Dict[str, int] = MEDSAPIENS_GENERALIST.offsets


def to_generalist(data_info: dict, source: str) -> dict:
    """Place one sample in MedSapiens' 88-landmark layout (see :meth:`GeneralistLayout.place`)."""
    return MEDSAPIENS_GENERALIST.place(data_info, source)


@DATASETS.register_module()
class MedSapiensGeneralistDataset(CombinedDataset):
    """Several landmark sets as one data set with one joint channel layout.

    Each sample keeps its source's ``dataset_name`` (so the metric reports
    per data set) and calibration; its landmarks are moved to the source's
    block. Give the source datasets without pipelines (or with pure
    bookkeeping ones); ``pipeline`` loads and augments.

    Args:
        datasets (Sequence[dict]): Configs of the source datasets, each set at
            most once; every one's type must be in the layout.
        pipeline (list): The pipeline applied to every sample.
        layout (Sequence[str], optional): The landmark sets, by dataset type,
            in channel order. Defaults to MedSapiens' head, chest, hand,
            legs (88 channels). A layout may hold sets a split does not use
            (e.g. a validation split of one set). ``mmpose.apis.init_model``
            reads this class's default ``METAINFO``: for another layout,
            infer from a checkpoint this code trained (its ``meta`` keeps the
            layout's names; see ``init_landmark_model``) or give the
            dataset's ``metainfo``.
        **kwargs: See :class:`mmpose.datasets.CombinedDataset` (e.g.
            ``sample_ratio_factor``).
    """

    # Read by mmpose.apis.init_model (dataset_meta_from_config) for inference.
    METAINFO = GENERALIST_METAINFO

    def __init__(self, datasets: Sequence[dict], pipeline: list = [],
                 layout: Optional[Sequence[str]] = None, **kwargs):
        self.layout = MEDSAPIENS_GENERALIST if layout is None else GeneralistLayout(layout)
        kwargs.setdefault('metainfo', self.layout.metainfo)
        super().__init__(datasets=datasets, pipeline=pipeline, **kwargs)
        self._sources: List[str] = []
        for dataset in self.datasets:
            source = self.layout.source_of(dataset)
            if source in self._sources:
                raise ValueError(f'the {source} set is given twice')
            self._sources.append(source)

    def get_data_info(self, idx: int) -> dict:
        subset_idx, _ = self._get_subset_index(idx)
        return self.layout.place(super().get_data_info(idx), self._sources[subset_idx])
