"""Convert the ISBI 2015 cephalometric challenge data to landmark COCO JSON.

Expected layout under ``ROOT`` (as distributed)::

    RawImage/TrainingData/001.bmp ... 150.bmp
    RawImage/Test1Data/151.bmp ... 300.bmp
    RawImage/Test2Data/301.bmp ... 400.bmp
    AnnotationsByMD/400_senior/001.txt ... 400.txt
    AnnotationsByMD/400_junior/001.txt ... 400.txt

Each annotation file starts with 19 lines ``x,y`` (pixels); the lines after
them (classification labels) are ignored. Coordinates are copied unchanged.

Writes the layout the head configs read (``data_root`` = ``OUT_DIR``), with a
pixel spacing of 0.1 mm on every image::

    OUT_DIR/head_coco_train_annotations.json   TrainingData minus the validation draw
    OUT_DIR/head_coco_val_annotations.json     --val-fraction (default 0.1) of TrainingData,
                                               drawn with --seed; or --val-split test1|test2
    OUT_DIR/head_coco_test_annotations.json    --test-split: test1 (default), test2 or
                                               test1+test2
    OUT_DIR/head_coco_test1_annotations.json   Test1Data and Test2Data, each under its
    OUT_DIR/head_coco_test2_annotations.json   own name, to test on the other set with
                                               test_dataloader.dataset.ann_file=...
    OUT_DIR/Images/NNN.bmp                     links to the images (--images copy: copies)

The ground truth is the senior's, the junior's or (default) their mean, as
used by GU2Net and NFDP; the choice and the split mapping are recorded in
each JSON ``info``.

The command line is ``tools/dataset_converters/isbi2015_to_coco.py``.
"""
import os.path as osp

import numpy as np

from ...datasets.xray_datasets import ISBI2015_HEAD_NAMES
from ...fileio.image_reader import read_image_size
from ..coco_landmarks import make_coco
from ..release_layout import draw_validation, release_image_names, write_release

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
SET_NAME = 'head'  # file prefix the head configs read
TEST_SPLITS = ('test1', 'test2', 'test1+test2')
VAL_SPLITS = ('train', 'test1', 'test2')


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
                     test_split: str = 'test1',
                     val_split: str = 'train',
                     val_fraction: float = None,
                     val_count: int = None,
                     seed: int = 0,
                     image_mode: str = 'symlink',
                     allow_incomplete: bool = False,
                     overwrite: bool = False) -> dict:
    """Write the head configs' annotation files and ``Images/`` into ``out_dir``.

    Args:
        root (str): Data set root (holding ``RawImage`` and
            ``AnnotationsByMD``).
        out_dir (str): The data root to write.
        ground_truth (str): ``'senior'``, ``'junior'`` or ``'mean'``.
            Defaults to ``'mean'``.
        test_split (str): Challenge split(s) behind ``head_coco_test``:
            ``'test1'`` (default), ``'test2'`` or ``'test1+test2'``.
        val_split (str): ``'train'`` (default: a seeded draw from the
            training images) or a challenge test split not used as test.
        val_fraction (float, optional): Share of the training images drawn
            as validation. Defaults to 0.1 (when ``val_count`` is not given).
        val_count (int, optional): Exact number of drawn validation images.
        seed (int): Seed of the validation draw. Defaults to 0.
        image_mode (str): ``'symlink'`` or ``'copy'`` into ``Images/``.
        allow_incomplete (bool): Convert the images present instead of
            requiring every official image. Defaults to False.
        overwrite (bool): Replace existing output files. Defaults to False.

    Returns:
        dict: Output split (``train``, ``val``, ``test``, ``test1``,
        ``test2``) -> path of the written JSON.
    """
    if ground_truth not in GROUND_TRUTHS:
        raise ValueError(f'ground_truth must be one of {GROUND_TRUTHS}, got {ground_truth!r}')
    if test_split not in TEST_SPLITS:
        raise ValueError(f'test_split must be one of {TEST_SPLITS}, got {test_split!r}')
    if val_split not in VAL_SPLITS:
        raise ValueError(f'val_split must be one of {VAL_SPLITS}, got {val_split!r}')
    test_parts = test_split.split('+')
    if val_split in test_parts:
        raise ValueError(f'{val_split} cannot be both the validation and the test split')
    if val_split != 'train' and (val_fraction is not None or val_count is not None):
        raise ValueError(f'val_split={val_split!r}: --val-fraction / --val-count do not apply')
    annotators = ('senior', 'junior') if ground_truth == 'mean' else (ground_truth, )

    ids = {}
    for split, (folder, first, last) in ISBI2015_SPLITS.items():
        wanted = range(first, last + 1)
        if allow_incomplete:
            ids[split] = [i for i in wanted if osp.exists(_image_path(root, folder, i)) or any(
                osp.exists(_annotation_path(root, who, i)) for who in annotators)]
        else:
            missing = [_image_path(root, folder, i) for i in wanted
                       if not osp.isfile(_image_path(root, folder, i))]
            if missing:
                raise FileNotFoundError(
                    f'{len(missing)} of the {len(wanted)} images of split {split} are missing, '
                    f'e.g. {missing[0]} (pass --allow-incomplete to convert a partial copy)')
            ids[split] = list(wanted)
    if not any(ids.values()):
        raise FileNotFoundError(f'No ISBI 2015 images or annotations found under {root}')

    # Output split -> (challenge split of each image, ids).
    carved = None
    if val_split == 'train':
        train_ids, val_ids, carved = draw_validation(ids['train'], val_fraction, val_count, seed)
    else:
        train_ids, val_ids = ids['train'], ids[val_split]
    layout = dict(train=train_ids, val=val_ids,
                  test=[i for part in test_parts for i in ids[part]],
                  test1=ids['test1'], test2=ids['test2'])
    mapping = dict(train='TrainingData' + (' minus the validation draw' if carved else ''),
                   val=('drawn from TrainingData' if carved
                        else ISBI2015_SPLITS[val_split][0]),
                   test=' + '.join(ISBI2015_SPLITS[p][0] for p in test_parts),
                   test1='Test1Data', test2='Test2Data')

    images_of, keypoints_of = {}, {}
    for split, split_ids in ids.items():
        folder = ISBI2015_SPLITS[split][0]
        for i in split_ids:
            path = _image_path(root, folder, i)
            if not osp.isfile(path):
                raise FileNotFoundError(f'Image file {path} does not exist (its annotation does)')
            images_of[i] = path
            keypoints_of[i] = isbi_ground_truth(root, i, ground_truth)
    names = release_image_names(images_of.values())

    cocos = {}
    for split, split_ids in layout.items():
        if not split_ids:
            if split in ('test1', 'test2'):
                continue  # a partial copy without that challenge split
            raise FileNotFoundError(f'No images for the {split} split ({mapping[split]}) under '
                                    f'{root}')
        images = []
        for i in split_ids:
            width, height = read_image_size(images_of[i])
            images.append(dict(id=i, file_name=names[osp.abspath(images_of[i])], width=width,
                               height=height, spacing=[SPACING_MM, SPACING_MM]))
        info = dict(
            description='ISBI 2015 cephalometric landmark challenge', split=split,
            challenge_split=mapping[split], ground_truth=ground_truth,
            annotation_dirs=[f'AnnotationsByMD/{ANNOTATOR_DIRS[a]}' for a in annotators],
            spacing_mm=[SPACING_MM, SPACING_MM], num_images=len(images),
            coordinates='pixels, as in the annotation files')
        if carved and split in ('train', 'val'):
            info['validation_carved'] = carved
        cocos[split] = make_coco(images, [keypoints_of[i] for i in split_ids], CATEGORY_NAME,
                                 ISBI2015_LANDMARKS, info)
    return write_release(out_dir, SET_NAME, cocos, names, image_mode, overwrite)


def _image_path(root, folder, image_id):
    return osp.join(root, 'RawImage', folder, f'{image_id:03d}.bmp')


def _annotation_path(root, annotator, image_id):
    return osp.join(root, 'AnnotationsByMD', ANNOTATOR_DIRS[annotator], f'{image_id:03d}.txt')
