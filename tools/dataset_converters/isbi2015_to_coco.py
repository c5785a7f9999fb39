"""Convert the ISBI 2015 cephalometric challenge data to landmark COCO JSON.

Expected layout under ``ROOT`` (as distributed)::

    RawImage/TrainingData/001.bmp ... 150.bmp
    RawImage/Test1Data/151.bmp ... 300.bmp
    RawImage/Test2Data/301.bmp ... 400.bmp
    AnnotationsByMD/400_senior/001.txt ... 400.txt
    AnnotationsByMD/400_junior/001.txt ... 400.txt

Each annotation file starts with 19 lines ``x,y`` (pixels); the lines after
them (classification labels) are ignored. Coordinates are copied unchanged.

Writes ``head_coco_{train,test1,test2}_annotations.json`` into ``OUT_DIR``
with a pixel spacing of 0.1 mm on every image. The ground truth is the
senior's, the junior's or (default) their mean, as used by GU2Net and NFDP;
the choice is recorded in the JSON ``info``.

Usage:
    python tools/dataset_converters/isbi2015_to_coco.py ROOT OUT_DIR \
        [--ground-truth {senior,junior,mean}] [--img-root DIR] \
        [--splits train test1 test2] [--allow-incomplete] [--overwrite]
"""
import argparse
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402

from mmpose_medsapiens.datasets.coco_landmarks import (ensure_new_files,  # noqa: E402
                                                       make_coco, write_coco)
from mmpose_medsapiens.datasets.xray_datasets import ISBI2015_HEAD_NAMES  # noqa: E402
from mmpose_medsapiens.datasets.image_io import read_image_size  # noqa: E402

# Landmark order of the challenge (Wang et al., MedIA 2016).
# The dataset class's landmark order, so converted files and the class agree.
ISBI2015_LANDMARKS = ISBI2015_HEAD_NAMES
# split -> (image folder, first id, last id)
ISBI2015_SPLITS = {
    'train': ('TrainingData', 1, 150),
    'test1': ('Test1Data', 151, 300),
    'test2': ('Test2Data', 301, 400),
}
ANNOTATOR_DIRS = {'senior': '400_senior', 'junior': '400_junior'}
GROUND_TRUTHS = ('senior', 'junior', 'mean')
SPACING_MM = 0.1
CATEGORY_NAME = 'head'


def read_isbi_annotation(path: str, num_landmarks: int = 19) -> np.ndarray:
    """Read the first ``num_landmarks`` ``x,y`` lines of an annotation file.

    Args:
        path (str): ``AnnotationsByMD/<annotator>/NNN.txt``.
        num_landmarks (int): Coordinate lines to read. Defaults to 19.

    Returns:
        np.ndarray: ``(num_landmarks, 2)`` float64 pixel coordinates.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Fewer lines or an unparsable line; names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file {path} does not exist')
    try:
        with open(path, encoding='utf-8-sig') as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f'Annotation file {path} is not text: {e}') from e
    if len(lines) < num_landmarks:
        raise ValueError(f'Annotation file {path} has {len(lines)} lines, expected at least '
                         f'{num_landmarks} "x,y" lines')
    coords = np.empty((num_landmarks, 2))
    for i, line in enumerate(lines[:num_landmarks]):
        parts = line.split(',')
        try:
            if len(parts) != 2:
                raise ValueError
            coords[i] = [float(parts[0]), float(parts[1])]
        except ValueError:
            raise ValueError(f'Annotation file {path}, line {i + 1}: expected "x,y", got '
                             f'{line!r}') from None
        if not np.isfinite(coords[i]).all():
            raise ValueError(f'Annotation file {path}, line {i + 1}: non-finite value {line!r}')
    return coords


def isbi_ground_truth(root: str, image_id: int, ground_truth: str = 'mean') -> np.ndarray:
    """Landmarks of one image by the chosen annotator(s).

    Args:
        root (str): Data set root.
        image_id (int): Image number, 1 to 400.
        ground_truth (str): ``'senior'``, ``'junior'`` or ``'mean'`` (the
            average of both). Defaults to ``'mean'``.

    Returns:
        np.ndarray: ``(19, 2)`` pixel coordinates.
    """
    if ground_truth not in GROUND_TRUTHS:
        raise ValueError(f'ground_truth must be one of {GROUND_TRUTHS}, got {ground_truth!r}')
    annotators = ('senior', 'junior') if ground_truth == 'mean' else (ground_truth, )
    coords = [
        read_isbi_annotation(_annotation_path(root, who, image_id), len(ISBI2015_LANDMARKS))
        for who in annotators
    ]
    return np.mean(coords, axis=0)


def convert_isbi2015(root: str,
                     out_dir: str,
                     ground_truth: str = 'mean',
                     img_root: str = None,
                     splits=tuple(ISBI2015_SPLITS),
                     allow_incomplete: bool = False,
                     overwrite: bool = False) -> dict:
    """Write one COCO JSON per split.

    Args:
        root (str): Data set root (holding ``RawImage`` and
            ``AnnotationsByMD``).
        out_dir (str): Output folder.
        ground_truth (str): ``'senior'``, ``'junior'`` or ``'mean'``.
            Defaults to ``'mean'``.
        img_root (str, optional): ``file_name`` is relative to this folder
            (the dataset's ``data_prefix['img']``). Defaults to ``root``.
        splits (Sequence[str]): Splits to write, of ``train``, ``test1``,
            ``test2``. Defaults to all.
        allow_incomplete (bool): Convert the images present instead of
            requiring every official image of a split. Defaults to False.
        overwrite (bool): Replace existing output files. Defaults to False.

    Returns:
        dict: Split name -> path of the written JSON (splits without images,
        possible only with ``allow_incomplete``, are left out).
    """
    if ground_truth not in GROUND_TRUTHS:
        raise ValueError(f'ground_truth must be one of {GROUND_TRUTHS}, got {ground_truth!r}')
    unknown = set(splits) - set(ISBI2015_SPLITS)
    if unknown:
        raise ValueError(f'unknown split(s) {sorted(unknown)}; choose from {list(ISBI2015_SPLITS)}')
    img_root = root if img_root is None else img_root
    annotators = ('senior', 'junior') if ground_truth == 'mean' else (ground_truth, )

    cocos = {}
    for split in splits:
        folder, first, last = ISBI2015_SPLITS[split]
        ids = range(first, last + 1)
        if allow_incomplete:
            ids = [i for i in ids if osp.exists(_image_path(root, folder, i)) or any(
                osp.exists(_annotation_path(root, who, i)) for who in annotators)]
        else:
            missing = [_image_path(root, folder, i) for i in ids
                       if not osp.isfile(_image_path(root, folder, i))]
            if missing:
                raise FileNotFoundError(
                    f'{len(missing)} of the {len(ids)} images of split {split} are missing, '
                    f'e.g. {missing[0]} (pass --allow-incomplete to convert a partial copy)')
        if not ids:
            continue
        images, keypoints = [], []
        for i in ids:
            path = _image_path(root, folder, i)
            if not osp.isfile(path):
                raise FileNotFoundError(f'Image file {path} does not exist (its annotation does)')
            width, height = read_image_size(path)
            images.append(dict(id=i, file_name=_relative(path, img_root), width=width,
                               height=height, spacing=[SPACING_MM, SPACING_MM]))
            keypoints.append(isbi_ground_truth(root, i, ground_truth))
        info = dict(
            description='ISBI 2015 cephalometric landmark challenge', split=split,
            ground_truth=ground_truth,
            annotation_dirs=[f'AnnotationsByMD/{ANNOTATOR_DIRS[a]}' for a in annotators],
            spacing_mm=[SPACING_MM, SPACING_MM], num_images=len(images),
            coordinates='pixels, as in the annotation files')
        cocos[split] = make_coco(images, keypoints, CATEGORY_NAME, ISBI2015_LANDMARKS, info)
    if not cocos:
        raise FileNotFoundError(f'No ISBI 2015 images or annotations found under {root}')

    paths = {s: osp.join(out_dir, f'head_coco_{s}_annotations.json') for s in cocos}
    ensure_new_files(paths.values(), overwrite)
    for split, coco in cocos.items():
        write_coco(coco, paths[split], overwrite=overwrite)
    return paths


def _image_path(root, folder, image_id):
    return osp.join(root, 'RawImage', folder, f'{image_id:03d}.bmp')


def _annotation_path(root, annotator, image_id):
    return osp.join(root, 'AnnotationsByMD', ANNOTATOR_DIRS[annotator], f'{image_id:03d}.txt')


def _relative(path, start):
    return osp.relpath(path, start).replace(os.sep, '/')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='ISBI 2015 root (RawImage/, AnnotationsByMD/)')
    parser.add_argument('out_dir', help='folder for head_coco_<split>_annotations.json')
    parser.add_argument('--ground-truth', choices=GROUND_TRUTHS, default='mean',
                        help='annotator whose landmarks are used (default: mean of both)')
    parser.add_argument('--img-root', default=None,
                        help='file names are relative to this folder (default: ROOT)')
    parser.add_argument('--splits', nargs='+', choices=list(ISBI2015_SPLITS),
                        default=list(ISBI2015_SPLITS), help='splits to write (default: all)')
    parser.add_argument('--allow-incomplete', action='store_true',
                        help='convert the images present instead of requiring all 400')
    parser.add_argument('--overwrite', action='store_true', help='replace existing JSON files')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        paths = convert_isbi2015(args.root, args.out_dir, args.ground_truth, args.img_root,
                                 args.splits, args.allow_incomplete, args.overwrite)
    except (ValueError, OSError) as e:
        sys.exit(f'error: {e}')
    for split, path in paths.items():
        print(f'{split}: {path}')
    return paths


if __name__ == '__main__':
    main()
