"""The 88-landmark generalist mix of MedSapiens over the four X-ray sets."""
import copy
from typing import Dict, List, Sequence, Tuple

import numpy as np

from mmpose.datasets.dataset_wrappers import CombinedDataset
from mmpose.registry import DATASETS
from .metainfo import landmark_metainfo
from .xray_datasets import (ChestXrayDataset, HandXrayDataset, ISBI2015HeadDataset,
                            LegXrayDataset)

# MedSapiens' output order: 19 head, 6 chest, 37 hand, 26 leg channels.
GENERALIST_SOURCES: Tuple[Tuple[str, type], ...] = (
    ('head', ISBI2015HeadDataset),
    ('chest', ChestXrayDataset),
    ('hand', HandXrayDataset),
    ('legs', LegXrayDataset),
)


def _layout() -> Tuple[Dict[str, int], List[str], List[Tuple[int, int]]]:
    offsets, names, swaps, offset = {}, [], [], 0
    for name, cls in GENERALIST_SOURCES:
        info = cls.METAINFO['keypoint_info']
        offsets[name] = offset
        names += [f'{name}/{info[i]["name"]}' for i in range(len(info))]
        ids = {info[i]['name']: i for i in range(len(info))}
        swaps += [(offset + i, offset + ids[info[i]['swap']]) for i in range(len(info))
                  if info[i]['swap'] and i < ids[info[i]['swap']]]
        offset += len(info)
    return offsets, names, swaps


GENERALIST_OFFSETS, GENERALIST_NAMES, _SWAPS = _layout()
GENERALIST_METAINFO = landmark_metainfo('medsapiens_generalist', GENERALIST_NAMES, _SWAPS)


def to_generalist(data_info: dict, source: str) -> dict:
    """Place one source sample's landmarks in the 88-landmark layout.

    Landmarks of the other sets get zero visibility, hence zero target weight
    and no part in the metric. The calibration's normalisation pair (the hand
    wrist rule) is moved with its landmarks.

    Args:
        data_info (dict): A sample of one source dataset.
        source (str): Its key in :data:`GENERALIST_OFFSETS`.
    """
    offset = GENERALIST_OFFSETS[source]
    num = len(GENERALIST_NAMES)
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
    data_info['calibration'] = calibration
    return data_info


@DATASETS.register_module()
class MedSapiensGeneralistDataset(CombinedDataset):
    """Head, chest, hand and leg sets as one 88-landmark data set.

    Each sample keeps its source's ``dataset_name`` (so the metric reports
    per data set) and calibration; its landmarks are moved to the source's
    block of the 88 channels. Give the source datasets without pipelines (or
    with pure bookkeeping ones); ``pipeline`` loads and augments.

    Args:
        datasets (Sequence[dict]): Configs of the source datasets, any subset
            of head/chest/hand/legs, each at most once.
        pipeline (list): The pipeline applied to every sample.
        **kwargs: See :class:`mmpose.datasets.CombinedDataset` (e.g.
            ``sample_ratio_factor``).
    """

    # Read by mmpose.apis.init_model (dataset_meta_from_config) for inference.
    METAINFO = GENERALIST_METAINFO

    def __init__(self, datasets: Sequence[dict], pipeline: list = [], **kwargs):
        kwargs.setdefault('metainfo', GENERALIST_METAINFO)
        super().__init__(datasets=datasets, pipeline=pipeline, **kwargs)
        by_class = {cls: name for name, cls in GENERALIST_SOURCES}
        self._sources = []
        for dataset in self.datasets:
            source = next((name for cls, name in by_class.items() if isinstance(dataset, cls)),
                          None)
            if source is None:
                raise TypeError(f'{type(dataset).__name__} is not one of the generalist sources '
                                f'{[c.__name__ for _, c in GENERALIST_SOURCES]}')
            if source in self._sources:
                raise ValueError(f'the {source} set is given twice')
            self._sources.append(source)

    def get_data_info(self, idx: int) -> dict:
        subset_idx, _ = self._get_subset_index(idx)
        return to_generalist(super().get_data_info(idx), self._sources[subset_idx])
