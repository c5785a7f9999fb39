"""Convert the Digital Hand Atlas with Payer et al.'s 37 landmarks to COCO JSON.

Expected layout (that of Payer's heatmap-regression setup)::

    ROOT/setup/all.csv                    rows: id,x0,y0,x1,y1,...,x36,y36 (pixels)
    ROOT/setup/<SPLIT_DIR>/set{1,2,3}/train.txt    one image id per line
    ROOT/setup/<SPLIT_DIR>/set{1,2,3}/test.txt
    IMAGES_DIR/<id>.jpg  or  IMAGES_DIR/<id>.mha   (default IMAGES_DIR: ROOT/images)

``SPLIT_DIR`` is one of Payer's split folders: ``cv`` (the default, 895 ids
over the three sets), ``cv_reduced`` (the few images his repository ships),
``cv_rand/<n>/<k>`` (random subsets of n training images); ``--cv-set``
picks one of its three sets. Copies that come split into image folders
instead (e.g. ``train/``, ``valid/``, ``test/`` holding ``<id>.jpg``) are
converted with ``--split-folders train=DIR [val=DIR] test=DIR``: each split
is the images of its folder, coordinates from ``all.csv``.

Writes the layout the hand configs read (``data_root`` = ``OUT_DIR``)::

    OUT_DIR/hand_coco_{train,val,test}_annotations.json
    OUT_DIR/Images/<id>.jpg|mha        links to the images (--images copy: copies)

Without a validation list or folder, ``--val-fraction`` (default 0.1) or
``--val-count`` of the training ids, drawn with ``--seed`` (default 0), become
the validation split; the JSON ``info`` records which.

A copy of the data set often holds only some of the images its splits list.
Such an id stops the conversion with its name unless
``--skip-missing-images`` is given; then every id without an image is left
out, counted and listed (first ids printed, all of them in the JSON ``info``).

No pixel spacing is stored: the hand protocol scales errors per image so
that the wrist width (landmarks 1 and 5, 0-based) is 50 mm. Image sizes are
read from the image files (headers only for MHA). An empty coordinate pair
in the CSV marks an absent landmark (visibility 0).

The command line is ``tools/dataset_converters/payer_hand_to_coco.py``.
"""
import csv
import os
import os.path as osp
from collections import Counter, OrderedDict

import numpy as np

from ...datasets.xray_datasets import HAND_NAMES
from ...fileio.image_reader import read_image_size
from ..coco_landmarks import make_coco
from ..release_layout import (RELEASE_SPLITS, draw_validation, release_image_names, summary_lines,
                              write_release)

NUM_HAND_LANDMARKS = len(HAND_NAMES)
HAND_LANDMARKS = HAND_NAMES  # the dataset class's names
CV_SETS = (1, 2, 3)
SPLITS = ('train', 'test')
IMAGE_EXTS = ('jpg', 'mha')
CATEGORY_NAME = 'hand'
SET_NAME = 'hand'  # file prefix the hand configs read


def read_payer_csv(path: str, num_landmarks: int = NUM_HAND_LANDMARKS) -> 'OrderedDict':
    """Read ``all.csv``: image id -> ``(num_landmarks, 2)`` pixel coordinates.

    A first row whose coordinates are not numbers is taken as a header and
    skipped. Empty ``x,y`` pairs become NaN (absent landmark).

    Args:
        path (str): The CSV file.
        num_landmarks (int): Landmarks per row. Defaults to 37.

    Returns:
        OrderedDict: Id (str) -> float64 array, in file order.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Wrong field count, unparsable value or duplicate id;
            names the file and line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Landmark file {path} does not exist')
    table = OrderedDict()
    with open(path, newline='', encoding='utf-8-sig') as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            row = [v.strip() for v in row]
            while row and row[-1] == '' and len(row) > 1 + 2 * num_landmarks:
                row.pop()  # tolerate trailing commas
            if not any(row):
                continue
            if line_no == 1 and len(row) > 1 and not _is_number(row[1]):
                continue  # header
            where = f'{path}, line {line_no}'
            if len(row) != 1 + 2 * num_landmarks:
                raise ValueError(f'{where}: expected an id and {2 * num_landmarks} '
                                 f'coordinates, got {len(row) - 1} values')
            image_id = row[0]
            if image_id in table:
                raise ValueError(f'{where}: duplicate id {image_id}')
            coords = np.full((num_landmarks, 2), np.nan)
            for k in range(num_landmarks):
                x, y = row[1 + 2 * k], row[2 + 2 * k]
                if x == '' and y == '':
                    continue
                if not (_is_number(x) and _is_number(y)):
                    raise ValueError(f'{where}: landmark {k} is not a number pair: '
                                     f'{x!r}, {y!r}')
                coords[k] = [float(x), float(y)]
            table[image_id] = coords
    return table


def read_id_list(path: str) -> list:
    """Read a split file: one image id per line, blank lines ignored.

    Args:
        path (str): ``setup/cv/setN/{train,test}.txt``.

    Returns:
        list[str]: The ids in file order.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: An id appears twice; names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Split file {path} does not exist')
    with open(path, encoding='utf-8-sig') as f:
        ids = [line.strip() for line in f if line.strip()]
    dup = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dup:
        raise ValueError(f'Split file {path} lists id(s) {", ".join(dup)} more than once')
    return ids


def find_hand_image(images_dir: str, image_id: str, image_ext: str = 'auto') -> str:
    """Path of ``<id>.jpg`` or ``<id>.mha`` in ``images_dir``.

    Args:
        images_dir (str): Folder of the images.
        image_id (str): Image id.
        image_ext (str): ``'jpg'``, ``'mha'`` or ``'auto'`` (whichever exists;
            both existing is an error, as they may differ). Defaults to
            ``'auto'``.

    Returns:
        str: The image path.
    """
    exts = IMAGE_EXTS if image_ext == 'auto' else (image_ext, )
    found = [osp.join(images_dir, f'{image_id}.{e}') for e in exts]
    found = [p for p in found if osp.isfile(p)]
    if not found:
        raise FileNotFoundError(f'No image for id {image_id}: none of '
                                f'{", ".join(f"{image_id}.{e}" for e in exts)} in {images_dir}')
    if len(found) > 1:
        raise ValueError(f'Both {found[0]} and {found[1]} exist; choose one with '
                         '--image-ext')
    return found[0]


def folder_ids(folder: str, image_ext: str = 'auto') -> list:
    """Ids (file stems) of the hand images in a split folder, sorted.

    Args:
        folder (str): Folder holding ``<id>.jpg`` / ``<id>.mha``.
        image_ext (str): ``'auto'``, ``'jpg'`` or ``'mha'``.

    Returns:
        list[str]: The ids.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'Split folder {folder} does not exist')
    exts = IMAGE_EXTS if image_ext == 'auto' else (image_ext, )
    ids = sorted({osp.splitext(f)[0] for f in os.listdir(folder)
                  if osp.splitext(f)[1].lower().lstrip('.') in exts})
    if not ids:
        raise FileNotFoundError(f'Split folder {folder} holds no {" or ".join(exts)} image')
    return ids


def payer_split_ids(root: str, split_dir: str, cv_set: int) -> dict:
    """``train`` / ``test`` id lists of one of Payer's cross-validation sets.

    Args:
        root (str): Folder holding ``setup/``.
        split_dir (str): Split folder under ``root/setup`` (``'cv'``,
            ``'cv_reduced'``, ``'cv_rand/10/1'``, ...).
        cv_set (int): The cross-validation set, 1, 2 or 3.

    Returns:
        dict: Split -> ``(ids, list file)``.
    """
    if cv_set not in CV_SETS:
        raise ValueError(f'cross-validation sets are 1, 2 and 3, got {cv_set}')
    splits_root = osp.join(root, 'setup', split_dir)
    if not osp.isdir(splits_root):
        setup = osp.join(root, 'setup')
        found = sorted(d for d in os.listdir(setup)
                       if osp.isdir(osp.join(setup, d))) if osp.isdir(setup) else []
        raise FileNotFoundError(f'Split folder {splits_root} does not exist (folders in setup/: '
                                f'{", ".join(found) or "none"})')
    return {split: (read_id_list(path), path) for split in SPLITS
            for path in [osp.join(splits_root, f'set{cv_set}', f'{split}.txt')]}


def convert_payer_hand(root: str,
                       out_dir: str,
                       images_dir: str = None,
                       cv_set: int = 1,
                       split_dir: str = 'cv',
                       split_folders: dict = None,
                       csv_path: str = None,
                       val_fraction: float = None,
                       val_count: int = None,
                       seed: int = 0,
                       image_ext: str = 'auto',
                       skip_missing_images: bool = False,
                       image_mode: str = 'symlink',
                       overwrite: bool = False,
                       report: dict = None) -> dict:
    """Write ``hand_coco_{train,val,test}`` and ``Images/`` into ``out_dir``.

    Args:
        root (str): Folder holding ``setup/``.
        out_dir (str): The data root to write.
        images_dir (str, optional): Folder of ``<id>.jpg`` / ``<id>.mha`` for
            Payer's split files. Defaults to ``root/images``.
        cv_set (int): Payer's cross-validation set (1, 2 or 3). Defaults to 1.
        split_dir (str): Split folder under ``root/setup`` (``'cv'``,
            ``'cv_reduced'``, ``'cv_rand/10/1'``, ...). Defaults to ``'cv'``.
        split_folders (dict, optional): Split (``train``, ``val``, ``test``)
            -> image folder; replaces Payer's split files. ``train`` and
            ``test`` are required.
        csv_path (str, optional): The landmark table. Defaults to
            ``root/setup/all.csv``.
        val_fraction (float, optional): Share of the training ids carved out
            as validation when no ``val`` folder is given. Defaults to 0.1
            (when ``val_count`` is not given either).
        val_count (int, optional): Exact number of carved validation ids.
        seed (int): Seed of the validation draw. Defaults to 0.
        image_ext (str): ``'auto'``, ``'jpg'`` or ``'mha'``.
        skip_missing_images (bool): Leave out ids that have no image instead
            of stopping at the first. Defaults to False.
        image_mode (str): ``'symlink'`` or ``'copy'`` into ``Images/``.
        overwrite (bool): Replace existing output files. Defaults to False.
        report (dict, optional): Filled with ``skipped``: split -> the ids
            left out for lack of an image.

    Returns:
        dict: Split -> path of the written annotation file.
    """
    images_dir = osp.join(root, 'images') if images_dir is None else images_dir
    if image_ext not in ('auto', ) + IMAGE_EXTS:
        raise ValueError(f'image_ext must be auto, jpg or mha, got {image_ext!r}')
    csv_path = osp.join(root, 'setup', 'all.csv') if csv_path is None else csv_path
    table = read_payer_csv(csv_path)
    skipped = {} if report is None else report.setdefault('skipped', {})

    # split -> (ids, where they came from, image folder)
    if split_folders:
        unknown_splits = set(split_folders) - set(RELEASE_SPLITS)
        missing_splits = {'train', 'test'} - set(split_folders)
        if unknown_splits or missing_splits:
            raise ValueError(f'split folders are train=DIR [val=DIR] test=DIR, got '
                             f'{sorted(split_folders)}')
        sources = {split: (folder_ids(folder, image_ext), folder, folder)
                   for split, folder in split_folders.items()}
    else:
        sources = {split: (ids, path, images_dir)
                   for split, (ids, path) in payer_split_ids(root, split_dir, cv_set).items()}
    for split, (ids, where, _) in sources.items():
        unknown = [i for i in ids if i not in table]
        if unknown:
            raise ValueError(f'{where}: id(s) {", ".join(unknown[:10])} are not in {csv_path}')
    for a, b in (('train', 'test'), ('train', 'val'), ('val', 'test')):
        if a in sources and b in sources:
            leaked = sorted(set(sources[a][0]) & set(sources[b][0]))
            if leaked:
                raise ValueError(f'id(s) {", ".join(leaked[:10])} are in both {sources[a][1]} '
                                 f'({a}) and {sources[b][1]} ({b})')

    # Images first: the validation draw is over the ids that have one.
    found = {}
    for split, (ids, where, folder) in sources.items():
        found[split] = []
        for image_id in ids:
            try:
                found[split].append((image_id, find_hand_image(folder, image_id, image_ext)))
            except FileNotFoundError as e:
                if not skip_missing_images:
                    raise FileNotFoundError(
                        f'{e} (listed in {where}); pass --skip-missing-images to leave '
                        f'out the ids this copy has no image for') from e
                skipped.setdefault(split, []).append(image_id)
        if not found[split]:
            raise FileNotFoundError(f'{where}: none of its {len(ids)} ids has an image in '
                                    f'{folder}')
    carved = None
    if 'val' not in sources:
        found['train'], found['val'], carved = draw_validation(found['train'], val_fraction,
                                                               val_count, seed)
    elif val_fraction is not None or val_count is not None:
        raise ValueError('A val folder is given: --val-fraction / --val-count do not apply')

    names = release_image_names(path for pairs in found.values() for _, path in pairs)
    cocos = {}
    for split in RELEASE_SPLITS:
        pairs = found[split]
        numeric = all(i.isdigit() for i, _ in pairs)
        images = []
        for n, (image_id, path) in enumerate(pairs):
            width, height = read_image_size(path)
            images.append(dict(id=int(image_id) if numeric else n + 1,
                               file_name=names[osp.abspath(path)], width=width, height=height,
                               source_id=image_id))
        info = dict(description="Digital Hand Atlas, Payer et al.'s 37 landmarks", split=split,
                    num_images=len(images),
                    normalization='errors scaled per image so that landmarks 1 and 5 (0-based) '
                    'are 50 mm apart')
        source_split = 'train' if split == 'val' and carved else split
        if split_folders:
            info['split_folder'] = osp.abspath(sources[source_split][1])
        else:
            info.update(cv_set=cv_set, split_dir=split_dir,
                        split_file=osp.abspath(sources[source_split][1]))
        if carved and split in ('train', 'val'):
            info['validation_carved'] = carved
        if skipped.get(source_split):
            info['skipped_ids_without_image'] = skipped[source_split]
        if not images:
            raise ValueError(f'The {split} split would be empty')
        cocos[split] = make_coco(images, [table[i] for i, _ in pairs], CATEGORY_NAME,
                                 HAND_LANDMARKS, info)
    return write_release(out_dir, SET_NAME, cocos, names, image_mode, overwrite)


def payer_hand_summary(paths: dict, report: dict) -> list:
    """What the converter prints: each written file and the ids left out.

    Args:
        paths (dict): Split -> written annotation file, from
            :func:`convert_payer_hand`.
        report (dict): The ``report`` that call filled.

    Returns:
        list[str]: ``<split>: <path>`` lines, each with the first ten ids
        its split left out for lack of an image.
    """
    notes = {}
    for split in paths:
        # A drawn val split shares train's skips (listed once, on train); a val
        # folder lists only images it holds.
        missing = report.get('skipped', {}).get(split, []) if split != 'val' else []
        if missing:
            first = ', '.join(missing[:10]) + (', ...' if len(missing) > 10 else '')
            notes[split] = f' (skipped {len(missing)} id(s) without an image: {first})'
    return summary_lines(paths, notes)


def _is_number(text: str) -> bool:
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False
