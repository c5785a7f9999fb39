"""Convert the Aariz cephalometric release to landmark COCO JSON.

Expected layout under ``ROOT`` (the Figshare archive, article 27986417)::

    cephalogram_machine_mappings.csv    cephalogram_id,machine,pixel_size,image_format,mode
    train/Cephalograms/<id>.<ext>       (also valid/, test/; Train/... accepted)
    train/Annotations/Cephalometric Landmarks/Senior Orthodontists/<id>.json
    train/Annotations/Cephalometric Landmarks/Junior Orthodontists/<id>.json
    train/Annotations/CVM Stages/<id>.json

Each landmark JSON holds ``ceph_id`` and ``landmarks``: 29 entries with
``symbol``, ``title`` and ``value: {x, y}`` (pixels). Landmarks are joined by
``symbol`` (never by list position) and the ``title`` is checked. A CVM file
holds ``cvm_stage: {value}``.

Writes (``data_root`` = ``OUT_DIR``)::

    OUT_DIR/aariz_coco_{train,val,test}_annotations.json   train, valid, test
    OUT_DIR/Images/<id>.<ext>                               links (--images copy: copies)

Each image entry keeps the CSV's ``pixel_size`` as ``spacing`` (isotropic,
mm), the ``machine`` and the CVM stage (``cvm_stage``). The ground truth is
the senior's, the junior's or (default) their mean, kept fractional (the
author code rounds the mean up with ``ceil``; that is not done here).

The command line is ``tools/dataset_converters/aariz_to_coco.py``.
"""
import csv
import json
import math
import os
import os.path as osp

import numpy as np

from ...datasets.cephalometric_datasets import AARIZ_LANDMARKS, AARIZ_NAMES
from ...fileio.image_reader import read_image_size
from ..coco_landmarks import make_coco
from ..release_layout import release_image_names, write_release

MAPPING_CSV = 'cephalogram_machine_mappings.csv'
CSV_COLUMNS = ('cephalogram_id', 'machine', 'pixel_size', 'image_format', 'mode')
# Output split -> the release's split folder (the CSV's ``mode``, any case).
SPLITS = {'train': 'train', 'val': 'valid', 'test': 'test'}
ANNOTATORS = {'senior': 'Senior Orthodontists', 'junior': 'Junior Orthodontists'}
GROUND_TRUTHS = ('senior', 'junior', 'mean')
SET_NAME = 'aariz'


class AarizFormatError(ValueError):
    """A release file that does not have the Aariz format, named in the message."""


def read_mapping(path: str) -> dict:
    """``cephalogram_id`` -> row of the machine mapping CSV (``pixel_size`` as float).

    Args:
        path (str): ``cephalogram_machine_mappings.csv``.

    Returns:
        dict: Id -> the row's columns, ``pixel_size`` parsed.

    Raises:
        AarizFormatError: Missing columns, a repeated id or a pixel size that
            is not a positive number; names the file and the row.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist (the release keeps the pixel size of '
                                'every image there)')
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise AarizFormatError(f'{path}: missing column(s) {missing}; has '
                                   f'{reader.fieldnames}')
        rows = {}
        for line, row in enumerate(reader, start=2):
            ceph_id = row['cephalogram_id']
            if ceph_id in rows:
                raise AarizFormatError(f'{path}, line {line}: {ceph_id} is listed twice')
            try:
                size = float(row['pixel_size'])
            except ValueError:
                size = math.nan
            if not size > 0 or not math.isfinite(size):
                raise AarizFormatError(f'{path}, line {line} ({ceph_id}): pixel_size '
                                       f'{row["pixel_size"]!r} is not a positive number')
            rows[ceph_id] = dict(row, pixel_size=size)
    return rows


def read_landmarks(path: str, ceph_id: str) -> np.ndarray:
    """The 29 landmarks of one annotation JSON, in :data:`AARIZ_NAMES` order.

    Args:
        path (str): ``<split>/Annotations/Cephalometric Landmarks/<annotator>/<id>.json``.
        ceph_id (str): The id the file name gives, checked against its
            ``ceph_id``.

    Returns:
        np.ndarray: ``(29, 2)`` pixel coordinates.

    Raises:
        AarizFormatError: Unreadable JSON, another ``ceph_id``, a missing,
            repeated or unknown symbol, a title that does not match its
            symbol, or a non-numeric coordinate; names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file {path} does not exist')
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        entries = data['landmarks']
    except (ValueError, KeyError, TypeError) as e:
        raise AarizFormatError(f'{path}: not an Aariz landmark file ({e!r})') from e
    if 'ceph_id' in data and str(data['ceph_id']) != ceph_id:
        raise AarizFormatError(f'{path}: ceph_id is {data["ceph_id"]!r}, the file name says '
                               f'{ceph_id!r}')
    index = {symbol: (i, title) for i, (symbol, title, _) in enumerate(AARIZ_LANDMARKS)}
    xy = np.full((len(AARIZ_LANDMARKS), 2), np.nan)
    for entry in entries:
        symbol = entry.get('symbol') if isinstance(entry, dict) else None
        if symbol not in index:
            raise AarizFormatError(f'{path}: unknown landmark symbol {symbol!r}; the release '
                                   f'symbols are {list(index)}')
        i, title = index[symbol]
        if 'title' in entry and entry['title'] != title:
            raise AarizFormatError(f'{path}: symbol {symbol!r} has title {entry["title"]!r}, '
                                   f'expected {title!r}')
        if not np.isnan(xy[i]).all():
            raise AarizFormatError(f'{path}: landmark {symbol!r} appears twice')
        try:
            xy[i] = [float(entry['value']['x']), float(entry['value']['y'])]
        except (KeyError, TypeError, ValueError) as e:
            raise AarizFormatError(f'{path}: landmark {symbol!r} has no numeric value.x/value.y '
                                   f'({e!r})') from e
        if not np.isfinite(xy[i]).all():
            raise AarizFormatError(f'{path}: landmark {symbol!r} is not finite')
    missing = [AARIZ_LANDMARKS[i][0] for i in np.flatnonzero(np.isnan(xy[:, 0]))]
    if missing:
        raise AarizFormatError(f'{path}: landmark(s) {missing} are missing')
    return xy


def read_cvm_stage(path: str):
    """The CVM stage (1-6) of one image, or None without a CVM file.

    Args:
        path (str): ``<split>/Annotations/CVM Stages/<id>.json``.

    Returns:
        int | None: The stage.
    """
    if not osp.isfile(path):
        return None
    try:
        with open(path, encoding='utf-8') as f:
            return int(json.load(f)['cvm_stage']['value'])
    except (ValueError, KeyError, TypeError) as e:
        raise AarizFormatError(f'{path}: no integer cvm_stage.value ({e!r})') from e


def _split_dir(root: str, folder: str) -> str:
    """The split folder as the archive spells it (``train``) or the author code (``Train``)."""
    for name in (folder, folder.capitalize()):
        if osp.isdir(osp.join(root, name)):
            return osp.join(root, name)
    raise FileNotFoundError(f'{osp.join(root, folder)} does not exist')


def convert_aariz(root: str, out_dir: str, ground_truth: str = 'mean',
                  image_mode: str = 'symlink', overwrite: bool = False) -> dict:
    """Write ``aariz_coco_<split>_annotations.json`` and ``Images/`` into ``out_dir``.

    Args:
        root (str): The release root (the CSV and ``train/ valid/ test/``).
        out_dir (str): The data root to write.
        ground_truth (str): ``'senior'``, ``'junior'`` or ``'mean'``.
        image_mode (str): ``'symlink'`` or ``'copy'``.
        overwrite (bool): Replace existing output files.

    Returns:
        dict: Output split -> path of the written JSON.
    """
    if ground_truth not in GROUND_TRUTHS:
        raise ValueError(f'ground_truth must be one of {GROUND_TRUTHS}, got {ground_truth!r}')
    mapping = read_mapping(osp.join(root, MAPPING_CSV))
    annotators = ('senior', 'junior') if ground_truth == 'mean' else (ground_truth, )
    cocos, sources, seen = {}, {}, set()
    for split, folder in SPLITS.items():
        split_dir = _split_dir(root, folder)
        ann_dir = osp.join(split_dir, 'Annotations', 'Cephalometric Landmarks')
        listing = osp.join(ann_dir, ANNOTATORS[annotators[0]])
        if not osp.isdir(listing):
            raise FileNotFoundError(f'{listing} does not exist')
        ids = sorted(osp.splitext(n)[0] for n in os.listdir(listing) if n.endswith('.json'))
        if not ids:
            raise FileNotFoundError(f'No annotation files in {listing}')
        images, keypoints = [], []
        for ceph_id in ids:
            row = mapping.get(ceph_id)
            if row is None:
                raise AarizFormatError(f'{listing}/{ceph_id}.json: {ceph_id} has no row in '
                                       f'{MAPPING_CSV} (no pixel size)')
            if row['mode'].lower() != folder:
                raise AarizFormatError(f'{ceph_id}: in the {folder}/ folder but {MAPPING_CSV} '
                                       f'says mode {row["mode"]!r}')
            seen.add(ceph_id)
            image = osp.join(split_dir, 'Cephalograms', f'{ceph_id}.{row["image_format"]}')
            if not osp.isfile(image):
                raise FileNotFoundError(f'Image {image} of {ceph_id} does not exist')
            xy = np.mean([read_landmarks(osp.join(ann_dir, ANNOTATORS[who], f'{ceph_id}.json'),
                                         ceph_id) for who in annotators], axis=0)
            width, height = read_image_size(image)
            sources[image] = image
            entry = dict(file_name=image, width=width, height=height,
                         spacing=[row['pixel_size']] * 2, ceph_id=ceph_id,
                         machine=row['machine'])
            cvm = read_cvm_stage(osp.join(split_dir, 'Annotations', 'CVM Stages',
                                          f'{ceph_id}.json'))
            if cvm is not None:
                entry['cvm_stage'] = cvm
            images.append(entry)
            keypoints.append(xy)
        cocos[split] = (images, keypoints)
    unlisted = sorted(set(mapping) - seen)
    names = release_image_names(sources)
    out = {}
    for split, (images, keypoints) in cocos.items():
        for i, entry in enumerate(images, start=1):
            entry.update(id=i, file_name=names[osp.abspath(entry['file_name'])])
        info = dict(description='Aariz cephalometric dataset', split=split,
                    release_split=SPLITS[split], ground_truth=ground_truth,
                    annotation_dirs=[ANNOTATORS[a] for a in annotators],
                    spacing='per image: pixel_size of ' + MAPPING_CSV,
                    csv_rows_without_annotation=unlisted, num_images=len(images),
                    coordinates='pixels, as in the annotation files (mean not rounded)')
        out[split] = make_coco(images, keypoints, 'aariz', AARIZ_NAMES, info)
    return write_release(out_dir, SET_NAME, out, names, image_mode, overwrite)
