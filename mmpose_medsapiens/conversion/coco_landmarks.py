"""Build and write the COCO-style landmark JSON read by this package.

One whole-image annotation per radiograph, as in the MedSapiens release::

    images:      [{id, file_name, width, height, [spacing: [sx, sy]], ...}]
    annotations: [{id, image_id, category_id: 1, keypoints: [x, y, v, ...],
                   num_keypoints, bbox: [0, 0, W, H], area: W * H,
                   iscrowd: 0}]
    categories:  [{id: 1, name, keypoints: [names], skeleton: []}]
    info:        {which ground truth, split, conventions...}

``v`` is 2 for an annotated landmark and 0 for an absent one (then
``x = y = 0``). Coordinates are in original image pixels with pixel centres
at integers, the convention checked by :class:`MedicalLandmarkDataset`.
"""
import json
import os
from typing import List, Optional, Sequence

import numpy as np

from ..utils.file_writing import ensure_new_files, write_atomically

__all__ = ['make_coco', 'write_coco']

_IMAGE_KEYS = ('id', 'file_name', 'width', 'height')


def make_coco(images: Sequence[dict],
              keypoints: Sequence,
              category_name: str,
              landmark_names: Sequence[str],
              info: Optional[dict] = None) -> dict:
    """Assemble a landmark COCO dict, checking it as the dataset would.

    Args:
        images (Sequence[dict]): One entry per image with ``file_name``,
            ``width`` and ``height``; optional ``id`` (default: position + 1)
            and ``spacing`` (``[sx, sy]`` or one number, ``None`` to omit);
            any other keys are copied as they are.
        keypoints (Sequence): One ``(K, 2)`` array-like per image, in
            ``landmark_names`` order. A row with NaN (or ``None``) marks an
            absent landmark.
        category_name (str): Name of the single category.
        landmark_names (Sequence[str]): The ``K`` landmark names.
        info (dict, optional): Stored as the top-level ``info`` (e.g. which
            ground truth and split were used).

    Returns:
        dict: ``images``, ``annotations`` (one per image, with the image's
        id, so ids stay unique across files of unique image ids),
        ``categories`` and ``info``.

    Raises:
        ValueError: Mismatched lengths, a missing image key, duplicate ids
            or names, a non-positive size, bad spacing, infinite coordinates
            or a landmark outside ``[0, W - 1] x [0, H - 1]``; the message
            names the image's ``file_name``.
    """
    names = [str(n) for n in landmark_names]
    if not names or len(set(names)) != len(names):
        raise ValueError(f'landmark names must be non-empty and unique, got {names}')
    if len(images) != len(keypoints):
        raise ValueError(f'{len(images)} images but {len(keypoints)} keypoint arrays')

    coco_images, annotations, seen_ids = [], [], set()
    for index, (image, kpts) in enumerate(zip(images, keypoints)):
        entry = _image_entry(image, index)
        if entry['id'] in seen_ids:
            raise ValueError(f'{entry["file_name"]}: duplicate image id {entry["id"]}')
        seen_ids.add(entry['id'])
        xy = _keypoint_array(kpts, len(names), entry['file_name'])
        visible = ~np.isnan(xy).any(axis=1)
        _check_inside(xy, visible, entry, names)

        flat = []
        for (x, y), vis in zip(xy, visible):
            flat += [float(x), float(y), 2] if vis else [0.0, 0.0, 0]
        width, height = entry['width'], entry['height']
        coco_images.append(entry)
        annotations.append(
            dict(id=entry['id'], image_id=entry['id'], category_id=1, keypoints=flat,
                 num_keypoints=int(visible.sum()), bbox=[0, 0, width, height],
                 area=width * height, iscrowd=0))

    return dict(
        info=dict(info or {}),
        images=coco_images,
        annotations=annotations,
        categories=[dict(id=1, name=category_name, keypoints=names, skeleton=[])])


def write_coco(coco: dict, path: str, overwrite: bool = False) -> str:
    """Write a COCO dict as JSON, atomically, never replacing a file silently.

    The JSON goes to a temporary file in the same directory, which then
    takes the final name in one step, so readers never see a half-written
    file and an interrupted run leaves nothing behind under ``path``.

    Args:
        coco (dict): The dict to write (numpy scalars and arrays allowed).
        path (str): Destination; parent directories are created.
        overwrite (bool): Replace an existing file. Defaults to False.

    Returns:
        str: ``path``.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
    """
    path = os.fspath(path)
    ensure_new_files([path], overwrite)
    return write_atomically(
        path, lambda f: json.dump(coco, f, default=_to_builtin, ensure_ascii=False), overwrite)


# ------------------------------------------------------------------ helpers
def _image_entry(image: dict, index: int) -> dict:
    entry = dict(image)
    entry.setdefault('id', index + 1)
    for key in _IMAGE_KEYS:
        if key not in entry:
            raise ValueError(f'image entry {index} ({image.get("file_name")}) lacks "{key}"')
    name = entry['file_name']
    for key in ('width', 'height'):
        value = entry[key]
        try:
            valid = int(value) == value and value > 0
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError(f'{name}: {key} must be a positive integer, got {value}')
        entry[key] = int(value)
    entry['id'] = _to_builtin(entry['id'])
    spacing = entry.pop('spacing', None)
    if spacing is not None:
        try:
            sxy = np.asarray(spacing, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            sxy = np.zeros(0)
        if sxy.size == 1:
            sxy = np.repeat(sxy, 2)
        if sxy.shape != (2, ) or not np.isfinite(sxy).all() or (sxy <= 0).any():
            raise ValueError(f'{name}: spacing must be [sx, sy] > 0, got {spacing}')
        entry['spacing'] = [float(sxy[0]), float(sxy[1])]
    return entry


def _keypoint_array(kpts, num: int, name: str) -> np.ndarray:
    """``(K, 2)`` float array; ``None`` rows become NaN (absent)."""
    if kpts is None:
        rows = [None] * num
    else:
        rows = list(kpts)
    rows = [[np.nan, np.nan] if row is None else row for row in rows]
    try:
        xy = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f'{name}: keypoints are not a (K, 2) array of numbers: {e}') from e
    if xy.shape != (num, 2):
        raise ValueError(f'{name}: expected {num} keypoints (shape ({num}, 2)), got shape '
                         f'{xy.shape}')
    if np.isinf(xy).any():
        raise ValueError(f'{name}: keypoints contain infinity')
    return xy


def _check_inside(xy: np.ndarray, visible: np.ndarray, entry: dict, names: List[str]):
    x, y = xy[:, 0], xy[:, 1]
    with np.errstate(invalid='ignore'):
        outside = visible & ((x < 0) | (y < 0) | (x > entry['width'] - 1) |
                             (y > entry['height'] - 1))
    if outside.any():
        bad = ', '.join(f'{names[i]} ({x[i]:g}, {y[i]:g})' for i in np.flatnonzero(outside))
        raise ValueError(f'{entry["file_name"]}: landmark(s) outside the '
                         f'{entry["width"]}x{entry["height"]} image (valid x in [0, '
                         f'{entry["width"] - 1}], y in [0, {entry["height"] - 1}]): {bad}')


def _to_builtin(obj):
    """JSON fallback for numpy values."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (str, int, float, bool, type(None), list, dict)):
        return obj
    raise TypeError(f'{type(obj).__name__} is not JSON serializable')
