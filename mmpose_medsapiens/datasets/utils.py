"""Build MMPose dataset metainfo dicts for landmark sets."""
from typing import Dict, Sequence, Tuple

import numpy as np


def landmark_metainfo(dataset_name: str,
                      names: Sequence[str],
                      swap_pairs: Sequence[Tuple[int, int]] = (),
                      paper_info: Dict = None) -> dict:
    """Metainfo for a landmark set, in MMPose's ``dataset_info`` layout.

    Args:
        dataset_name (str): Name stored with every sample (``dataset_name``).
        names (Sequence[str]): Landmark names in annotation order.
        swap_pairs (Sequence[tuple]): Index pairs that exchange under a
            horizontal flip (left/right anatomy). Others map to themselves.
        paper_info (dict, optional): Citation info.
    """
    swap = {}
    for i, j in swap_pairs:
        if i in swap or j in swap or i == j:
            raise ValueError(f'{dataset_name}: landmark {i} or {j} in more than one flip pair')
        swap[i], swap[j] = j, i
    colors = (np.array([[255, 128, 0], [0, 200, 255], [51, 255, 51]]))
    keypoint_info = {
        i: dict(name=name, id=i, color=colors[i % 3].tolist(), type='',
                swap=names[swap[i]] if i in swap else '')
        for i, name in enumerate(names)
    }
    return dict(
        dataset_name=dataset_name,
        paper_info=paper_info or {},
        keypoint_info=keypoint_info,
        skeleton_info={},
        joint_weights=[1.0] * len(names),
        # Only used by OKS-based tools; landmarks are point-like.
        sigmas=[0.025] * len(names))
