"""Convert the CL-Detection 2023 training release to landmark COCO JSON.

The challenge ships its images as one zero-padded stack and one JSON::

    train_stack.mha   N x H x W x 3 (uint8 RGB), each image zero-padded at the
                      bottom and right to the stack's size (2400 x 2880 here)
    train-gt.json     {"points": [{"name": "1".."38", "point": [x, y, n],
                                   "scale": spacing}, ...]}, n = image 1..N

Each slice is cut back to its image (the rows and columns after its last
non-zero row and column go, as the official MMPose baseline does) and
written as ``Images/<n>.png``; each image entry keeps its ``scale`` as
``spacing`` (mm). Writes ``cldetection2023_coco_{train,val,test}_annotations.json``
with the official baseline's split by default (``random.seed(2023)``,
``random.shuffle`` of the image indices; 300 / 50 / 50 of the 400 images).

Checked, with errors naming the file and the image: every image has each of
the 38 landmarks once and one spacing; every landmark lies inside the image
left after the padding is cut (a landmark in the padding means the padding
disagrees with the annotation); a slice is not all zero.

The command line is ``tools/dataset_converters/cldetection2023_to_coco.py``.
"""
import json
import os
import os.path as osp
import random

import cv2
import numpy as np
import SimpleITK as sitk

from ...datasets.cephalometric_datasets import CLDETECTION2023_NAMES
from ...utils.file_writing import ensure_new_files, write_atomically
from ..coco_landmarks import make_coco, write_coco
from ..release_layout import annotation_file

SET_NAME = 'cldetection2023'
NUM_LANDMARKS = len(CLDETECTION2023_NAMES)


class CLDetectionFormatError(ValueError):
    """A release file that does not have the challenge's format, named in the message."""


def read_ground_truth(path: str) -> dict:
    """Image number -> ``(landmarks (38, 2), spacing)`` from ``train-gt.json``.

    Args:
        path (str): The ground-truth JSON.

    Returns:
        dict: Image number (1-based) -> ``(landmarks, spacing)``.

    Raises:
        CLDetectionFormatError: Not the challenge's JSON, a landmark name
            outside 1..38, a landmark given twice or missing, or two spacings
            for one image; names the file and the image.
    """
    try:
        with open(path, encoding='utf-8') as f:
            points = json.load(f)['points']
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CLDetectionFormatError(f'{path}: not the challenge ground truth ({e!r})') from e
    images = {}
    for entry in points:
        try:
            x, y, n = entry['point'][:3]
            k, n = int(entry['name']) - 1, int(n)
            scale = float(entry['scale'])
        except (KeyError, TypeError, ValueError) as e:
            raise CLDetectionFormatError(f'{path}: point {entry!r} lacks name/point/scale '
                                         f'({e!r})') from e
        if not 0 <= k < NUM_LANDMARKS:
            raise CLDetectionFormatError(f'{path}, image {n}: landmark name {entry["name"]!r} '
                                         f'is not 1..{NUM_LANDMARKS}')
        xy, spacing = images.setdefault(n, (np.full((NUM_LANDMARKS, 2), np.nan), scale))
        if scale != spacing:
            raise CLDetectionFormatError(f'{path}, image {n}: two spacings, {spacing} and {scale}')
        if not np.isnan(xy[k]).all():
            raise CLDetectionFormatError(f'{path}, image {n}: landmark {k + 1} is given twice')
        xy[k] = [float(x), float(y)]
    for n, (xy, spacing) in images.items():
        missing = (np.flatnonzero(np.isnan(xy[:, 0])) + 1).tolist()
        if missing:
            raise CLDetectionFormatError(f'{path}, image {n}: landmark(s) {missing} missing')
        if not spacing > 0:
            raise CLDetectionFormatError(f'{path}, image {n}: spacing {spacing} is not positive')
    return images


class PaddedStack:
    """The slices of ``train_stack.mha``, read one at a time (the stack is ~8 GB).

    Args:
        path (str): The stack.

    Raises:
        CLDetectionFormatError: Not a readable 3-dimensional image.
    """

    def __init__(self, path: str):
        self.path = path
        self.reader = sitk.ImageFileReader()
        self.reader.SetFileName(path)
        try:
            self.reader.ReadImageInformation()
        except RuntimeError as e:
            raise CLDetectionFormatError(f'{path}: not a readable image stack ({e})') from e
        size = self.reader.GetSize()
        if len(size) != 3:
            raise CLDetectionFormatError(f'{path}: a stack of 2D images has 3 dimensions, this '
                                         f'has {len(size)} ({size})')
        self.width, self.height, self.depth = size

    def unpadded(self, n: int) -> np.ndarray:
        """Image ``n`` (1-based) as ``(h, w, c)`` with the zero padding cut.

        Args:
            n (int): Image number, 1 to the stack's depth.

        Returns:
            np.ndarray: The image up to its last non-zero row and column.
        """
        if not 1 <= n <= self.depth:
            raise CLDetectionFormatError(f'{self.path}: image {n} is outside the stack of '
                                         f'{self.depth}')
        self.reader.SetExtractIndex([0, 0, n - 1])
        self.reader.SetExtractSize([self.width, self.height, 0])
        try:
            img = sitk.GetArrayFromImage(self.reader.Execute())
        except RuntimeError as e:
            raise CLDetectionFormatError(f'{self.path}, image {n}: unreadable ({e})') from e
        img = img if img.ndim == 3 else img[..., None]
        rows = np.flatnonzero(img.any(axis=(1, 2)))
        cols = np.flatnonzero(img.any(axis=(0, 2)))
        if rows.size == 0:
            raise CLDetectionFormatError(f'{self.path}, image {n}: the slice is all zero')
        return img[:rows[-1] + 1, :cols[-1] + 1]


def baseline_split(numbers, val_count: int = 50, test_count: int = 50, seed: int = 2023):
    """The official MMPose baseline's split: ``random.seed(seed)``, shuffle, cut.

    Args:
        numbers (Iterable[int]): Image numbers.
        val_count (int): Validation images. Defaults to 50.
        test_count (int): Test images. Defaults to 50.
        seed (int): Seed of ``random``. Defaults to the baseline's 2023.

    Returns:
        dict: ``train``, ``val``, ``test`` -> image numbers.
    """
    order = sorted(numbers)
    if val_count + test_count >= len(order):
        raise ValueError(f'{val_count} validation + {test_count} test images leave no training '
                         f'image of {len(order)}')
    # The same order as the baseline's random.seed(seed); random.shuffle(...),
    # without reseeding the caller's global generator.
    random.Random(seed).shuffle(order)
    train_end = len(order) - val_count - test_count
    return dict(train=order[:train_end], val=order[train_end:train_end + val_count],
                test=order[train_end + val_count:])


def convert_cldetection2023(stack_path: str, gt_path: str, out_dir: str, val_count: int = 50,
                            test_count: int = 50, seed: int = 2023,
                            overwrite: bool = False) -> dict:
    """Write the three annotation files and ``Images/<n>.png`` into ``out_dir``.

    Every image is read and checked before anything is written.

    Args:
        stack_path (str): ``train_stack.mha``.
        gt_path (str): ``train-gt.json``.
        out_dir (str): The data root to write.
        val_count (int): Validation images. Defaults to 50.
        test_count (int): Test images. Defaults to 50.
        seed (int): Seed of the split. Defaults to the baseline's 2023.
        overwrite (bool): Replace existing output files. Defaults to False.

    Returns:
        dict: Split -> path of the written JSON.
    """
    truth = read_ground_truth(gt_path)
    stack = PaddedStack(stack_path)
    outside = sorted(set(truth) - set(range(1, stack.depth + 1)))
    if outside:
        raise CLDetectionFormatError(f'{gt_path}: image(s) {outside[:5]} are not in the stack '
                                     f'{stack_path} of {stack.depth}')
    split = baseline_split(truth, val_count, test_count, seed)
    paths = {s: annotation_file(out_dir, SET_NAME, s) for s in split}
    images_dir = osp.join(out_dir, 'Images')
    targets = {n: osp.join(images_dir, f'{n}.png') for n in truth}
    ensure_new_files(list(paths.values()) + list(targets.values()), overwrite)

    entries = {}
    for n in sorted(truth):  # check every image before writing any
        img = stack.unpadded(n)
        xy, spacing = truth[n]
        h, w = img.shape[:2]
        bad = np.flatnonzero((xy[:, 0] > w - 1) | (xy[:, 1] > h - 1) | (xy < 0).any(axis=1))
        if bad.size:
            raise CLDetectionFormatError(
                f'{stack_path}, image {n}: landmark(s) {(bad + 1).tolist()} (e.g. at '
                f'{xy[bad[0]].tolist()}) lie in the zero padding; the image ends at {w}x{h} '
                f'pixels: the padding disagrees with {gt_path}')
        entries[n] = dict(id=n, file_name=f'{n}.png', width=w, height=h,
                          spacing=[spacing, spacing])
    os.makedirs(images_dir, exist_ok=True)
    for n in sorted(truth):
        img = stack.unpadded(n)
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.shape[2] == 3 else img
        ok, png = cv2.imencode('.png', bgr)
        write_atomically(targets[n], lambda f, data=png: f.write(data.tobytes()), overwrite,
                         binary=True)
    for name, numbers in split.items():
        info = dict(description='CL-Detection 2023 training release', split=name,
                    split_rule=f'official baseline: random.seed({seed}), shuffle, '
                    f'{len(split["train"])} / {val_count} / {test_count}',
                    source=[osp.basename(stack_path), osp.basename(gt_path)],
                    spacing='per image: the "scale" of its points',
                    padding='rows/columns after the last non-zero one removed',
                    num_images=len(numbers))
        coco = make_coco([entries[n] for n in numbers], [truth[n][0] for n in numbers],
                         SET_NAME, CLDETECTION2023_NAMES, info)
        write_coco(coco, paths[name], overwrite=overwrite)
    return paths
