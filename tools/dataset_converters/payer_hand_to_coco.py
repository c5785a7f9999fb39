"""Convert the Digital Hand Atlas with Payer et al.'s 37 landmarks to COCO JSON.

Expected layout (that of Payer's heatmap-regression setup)::

    ROOT/setup/all.csv                    rows: id,x0,y0,x1,y1,...,x36,y36 (pixels)
    ROOT/setup/<SPLIT_DIR>/set{1,2,3}/train.txt    one image id per line
    ROOT/setup/<SPLIT_DIR>/set{1,2,3}/test.txt
    IMAGES_DIR/<id>.jpg  or  IMAGES_DIR/<id>.mha   (default IMAGES_DIR: ROOT/images)

``SPLIT_DIR`` is one of Payer's split folders: ``cv`` (the default, 895 ids
over the three sets), ``cv_reduced`` (the few images his repository ships),
``cv_rand/<n>/<k>`` (random subsets of n training images).

A copy of the data set often holds only some of the images its splits list.
Such an id stops the conversion with its name unless
``--skip-missing-images`` is given; then every id without an image is left
out, counted and listed (first ids printed, all of them in the JSON ``info``).

Writes ``hand_coco_set{N}_{train,test}_annotations.json`` for each
cross-validation set. No pixel spacing is stored: the hand protocol scales
errors per image so that the wrist width (landmarks 1 and 5, 0-based) is
50 mm. Image sizes are read from the image files (headers only for MHA).

An empty coordinate pair in the CSV marks an absent landmark (visibility 0).

Usage:
    python tools/dataset_converters/payer_hand_to_coco.py ROOT OUT_DIR \
        [--images-dir DIR] [--img-root DIR] [--cv-sets 1 2 3] [--split-dir cv] \
        [--skip-missing-images] [--image-ext {auto,jpg,mha}] [--overwrite]
"""
import argparse
import csv
import os
import os.path as osp
import sys
from collections import Counter, OrderedDict

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402

from mmpose_medsapiens.datasets.coco_landmarks import (ensure_new_files,  # noqa: E402
                                                       make_coco, write_coco)
from mmpose_medsapiens.datasets.image_io import read_image_size  # noqa: E402
from mmpose_medsapiens.datasets.xray_datasets import HAND_NAMES  # noqa: E402

NUM_HAND_LANDMARKS = len(HAND_NAMES)
HAND_LANDMARKS = HAND_NAMES  # the dataset class's names
CV_SETS = (1, 2, 3)
SPLITS = ('train', 'test')
IMAGE_EXTS = ('jpg', 'mha')
CATEGORY_NAME = 'hand'


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


def convert_payer_hand(root: str,
                       out_dir: str,
                       images_dir: str = None,
                       img_root: str = None,
                       cv_sets=CV_SETS,
                       image_ext: str = 'auto',
                       overwrite: bool = False,
                       split_dir: str = 'cv',
                       skip_missing_images: bool = False,
                       report: dict = None) -> dict:
    """Write train/test COCO JSON files for the chosen cross-validation sets.

    Args:
        root (str): Folder holding ``setup/``.
        out_dir (str): Output folder.
        images_dir (str, optional): Folder of ``<id>.jpg`` / ``<id>.mha``.
            Defaults to ``root/images``.
        img_root (str, optional): ``file_name`` is relative to this folder.
            Defaults to ``images_dir``.
        cv_sets (Sequence[int]): Sets among 1, 2, 3. Defaults to all.
        image_ext (str): ``'auto'``, ``'jpg'`` or ``'mha'``.
        overwrite (bool): Replace existing output files. Defaults to False.
        split_dir (str): Split folder under ``root/setup`` (``'cv'``,
            ``'cv_reduced'``, ``'cv_rand/10/1'``, ...). Defaults to ``'cv'``.
        skip_missing_images (bool): Leave out ids that have no image instead
            of stopping at the first. Defaults to False.
        report (dict, optional): Filled with ``skipped``: ``(cv_set, split)``
            -> the ids left out for lack of an image.

    Returns:
        dict: ``(cv_set, split)`` -> path of the written JSON.
    """
    images_dir = osp.join(root, 'images') if images_dir is None else images_dir
    img_root = images_dir if img_root is None else img_root
    if image_ext not in ('auto', ) + IMAGE_EXTS:
        raise ValueError(f'image_ext must be auto, jpg or mha, got {image_ext!r}')
    bad_sets = [s for s in cv_sets if s not in CV_SETS]
    if bad_sets:
        raise ValueError(f'cross-validation sets are 1, 2 and 3, got {bad_sets}')
    csv_path = osp.join(root, 'setup', 'all.csv')
    table = read_payer_csv(csv_path)
    splits_root = osp.join(root, 'setup', split_dir)
    if not osp.isdir(splits_root):
        found = sorted(d for d in os.listdir(osp.join(root, 'setup'))
                       if osp.isdir(osp.join(root, 'setup', d))) \
            if osp.isdir(osp.join(root, 'setup')) else []
        raise FileNotFoundError(f'Split folder {splits_root} does not exist (folders in setup/: '
                                f'{", ".join(found) or "none"})')
    skipped = {} if report is None else report.setdefault('skipped', {})

    cocos, sizes = {}, {}
    for cv_set in cv_sets:
        set_ids, list_paths = {}, {}
        for split in SPLITS:
            list_path = osp.join(splits_root, f'set{cv_set}', f'{split}.txt')
            ids = read_id_list(list_path)
            unknown = [i for i in ids if i not in table]
            if unknown:
                raise ValueError(f'Split file {list_path}: id(s) {", ".join(unknown[:10])} are '
                                 f'not in {csv_path}')
            set_ids[split] = ids
            list_paths[split] = list_path
        leaked = sorted(set(set_ids['train']) & set(set_ids['test']))
        if leaked:
            raise ValueError(f'Cross-validation set {cv_set}: id(s) {", ".join(leaked[:10])} '
                             'are in both train.txt and test.txt')
        for split, ids in set_ids.items():
            list_path = list_paths[split]
            numeric = all(i.isdigit() for i in ids)
            images, kept = [], []
            for n, image_id in enumerate(ids):
                try:
                    path = find_hand_image(images_dir, image_id, image_ext)
                except FileNotFoundError as e:
                    if not skip_missing_images:
                        raise FileNotFoundError(
                            f'{e} (listed in {list_path}); pass --skip-missing-images to leave '
                            f'out the ids this copy has no image for') from e
                    skipped.setdefault((cv_set, split), []).append(image_id)
                    continue
                kept.append(image_id)
                if path not in sizes:
                    sizes[path] = read_image_size(path)
                width, height = sizes[path]
                images.append(dict(id=int(image_id) if numeric else n + 1,
                                   file_name=osp.relpath(path, img_root).replace(os.sep, '/'),
                                   width=width, height=height, source_id=image_id))
            info = dict(
                description="Digital Hand Atlas, Payer et al.'s 37 landmarks", cv_set=cv_set,
                split=split, num_images=len(images),
                normalization='errors scaled per image so that landmarks 1 and 5 (0-based) '
                'are 50 mm apart', split_dir=split_dir)
            missing = skipped.get((cv_set, split), [])
            if missing:
                info['skipped_ids_without_image'] = missing
            if not images:
                raise FileNotFoundError(f'{list_path}: none of its {len(ids)} ids has an image '
                                        f'in {images_dir}')
            cocos[cv_set, split] = make_coco(images, [table[i] for i in kept], CATEGORY_NAME,
                                             HAND_LANDMARKS, info)

    paths = {key: osp.join(out_dir, f'hand_coco_set{key[0]}_{key[1]}_annotations.json')
             for key in cocos}
    ensure_new_files(paths.values(), overwrite)
    for key, coco in cocos.items():
        write_coco(coco, paths[key], overwrite=overwrite)
    return paths


def _is_number(text: str) -> bool:
    try:
        return np.isfinite(float(text))
    except ValueError:
        return False


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='folder holding setup/all.csv and setup/cv/')
    parser.add_argument('out_dir', help='folder for hand_coco_set<N>_<split>_annotations.json')
    parser.add_argument('--images-dir', default=None, help='image folder (default: ROOT/images)')
    parser.add_argument('--img-root', default=None,
                        help='file names are relative to this folder (default: --images-dir)')
    parser.add_argument('--cv-sets', type=int, nargs='+', choices=CV_SETS, default=list(CV_SETS),
                        help='cross-validation sets to write (default: 1 2 3)')
    parser.add_argument('--split-dir', default='cv',
                        help="split folder under ROOT/setup: cv (default), cv_reduced, "
                        "cv_rand/<n>/<k>")
    parser.add_argument('--skip-missing-images', action='store_true',
                        help='leave out (and list) split ids without an image instead of stopping')
    parser.add_argument('--image-ext', choices=('auto', ) + IMAGE_EXTS, default='auto',
                        help='image file type (default: whichever exists)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing JSON files')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = {}
    try:
        paths = convert_payer_hand(args.root, args.out_dir, args.images_dir, args.img_root,
                                   args.cv_sets, args.image_ext, args.overwrite,
                                   args.split_dir, args.skip_missing_images, report)
    except (ValueError, OSError) as e:
        sys.exit(f'error: {e}')
    for (cv_set, split), path in paths.items():
        missing = report['skipped'].get((cv_set, split), [])
        note = ''
        if missing:
            first = ', '.join(missing[:10]) + (', ...' if len(missing) > 10 else '')
            note = f' (skipped {len(missing)} id(s) without an image: {first})'
        print(f'set{cv_set} {split}: {path}{note}')
    return paths


if __name__ == '__main__':
    main()
