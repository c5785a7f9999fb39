"""Blank-image landmark sets in the MedSapiens release layout, for tests.

Dataset, metric and tool tests need files of a given number of landmarks and
image sizes, not anatomy: black PNGs with random landmarks inside them.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from ..conversion.coco_landmarks import make_coco, write_coco


def write_blank_landmark_set(root, num_keypoints: int, sizes: Sequence[Tuple[int, int]],
                             spacing: Optional[Sequence[float]] = None,
                             ann_name: str = 'ann.json', category_name: str = 'x') -> str:
    """Black PNGs + a COCO landmark JSON in the MedSapiens release layout.

    As in the release, ``file_name`` has no folder (``img_1.png``) and the
    images lie in ``root/Images``, which configs reach through
    ``data_prefix=dict(img='Images/')``. Landmarks are drawn uniformly inside
    each image from a generator seeded by the set's shape, so the same
    arguments give the same file.

    Args:
        root (str | PathLike): Data root; images go to ``root/Images``.
        num_keypoints (int): Landmarks per image, named ``landmark_<k>``.
        sizes (Sequence[tuple]): ``(width, height)`` per image; ids 1, 2, ...
        spacing (Sequence[float], optional): ``[sx, sy]`` written for every
            image; none by default.
        ann_name (str): Annotation file name under ``root``.
        category_name (str): The category's name.

    Returns:
        str: Path of the annotation file (an existing one is replaced).
    """
    root = os.fspath(root)
    os.makedirs(osp.join(root, 'Images'), exist_ok=True)
    rng = np.random.default_rng(len(sizes) * 1000 + num_keypoints)
    images, keypoints = [], []
    for i, (w, h) in enumerate(sizes, start=1):
        name = f'img_{i}.png'
        if not cv2.imwrite(osp.join(root, 'Images', name), np.zeros((h, w), np.uint8)):
            raise RuntimeError(f'failed to write {name} under {root}/Images')
        images.append(dict(id=i, file_name=name, width=w, height=h, spacing=spacing))
        keypoints.append(rng.uniform(0, [w - 1, h - 1], (num_keypoints, 2)))
    names = [f'landmark_{k}' for k in range(num_keypoints)]
    return write_coco(make_coco(images, keypoints, category_name, names),
                      osp.join(root, ann_name), overwrite=True)
