"""Convert Shenzhen chest X-rays with GU2Net's 6 landmarks to COCO JSON.

Expected layout (GU2Net's ``data/chest``)::

    ROOT/pngs/CHNCXR_XXXX_0.png
    ROOT/labels/CHNCXR_XXXX_0.txt     first line "6", then 6 lines "x y"

Label coordinates are ratios of the image width and height. GU2Net
(``universal_landmark_detection/model/datasets/chest.py``, ``readLandmark``)
turns them into pixels of its 512 x 512 resized image as
``round(ratio * 512)``, i.e. ratio times the image size; the same rule in
original pixels, without GU2Net's rounding, is::

    x = x_ratio * width,    y = y_ratio * height

Images are selected and split as GU2Net does (config ``chest`` entry):
names starting with ``CHN`` and ending in ``0`` (normal cases), minus its
9-name exclusion list, sorted, then the first 195 are ``train``, the next 34
``val`` and the remaining 50 ``test``. Writes the layout the chest configs
read (``data_root`` = ``OUT_DIR``)::

    OUT_DIR/chest_coco_{train,val,test}_annotations.json
    OUT_DIR/Images/CHNCXR_XXXX_0.png   links to the images (--images copy: copies)

No pixel spacing is stored: the chest dataset reports errors in pixels of a
512 x 512 image and derives (512 / W, 512 / H) itself.

The command line is ``tools/dataset_converters/gu2net_chest_to_coco.py``.
"""
import os
import os.path as osp

import numpy as np

from ...datasets.xray_datasets import CHEST_NAMES
from ...fileio.image_reader import read_image_size
from ..coco_landmarks import make_coco
from ..release_layout import release_image_names, write_release

NUM_CHEST_LANDMARKS = len(CHEST_NAMES)
CHEST_LANDMARKS = CHEST_NAMES  # the dataset class's names
# GU2Net's config.yaml: chest.exclude_list.
GU2NET_EXCLUDE = ('CHNCXR_0059_0', 'CHNCXR_0178_0', 'CHNCXR_0228_0', 'CHNCXR_0267_0',
                  'CHNCXR_0295_0', 'CHNCXR_0310_0', 'CHNCXR_0285_0', 'CHNCXR_0276_0',
                  'CHNCXR_0303_0')
GU2NET_SPLIT_SIZES = (195, 34, 50)
SPLITS = ('train', 'val', 'test')
CATEGORY_NAME = 'chest'
SET_NAME = 'chest'  # file prefix the chest configs read


def read_gu2net_label(path: str, num_landmarks: int = NUM_CHEST_LANDMARKS) -> np.ndarray:
    """Read a GU2Net chest label file of width/height ratios.

    Args:
        path (str): ``CHNCXR_XXXX_0.txt``: a count line, then ``x y`` lines.
        num_landmarks (int): Expected count. Defaults to 6.

    Returns:
        np.ndarray: ``(num_landmarks, 2)`` ratios in [0, 1].

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Wrong count, missing or unparsable line, ratio outside
            [0, 1]; names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Label file {path} does not exist')
    with open(path, encoding='utf-8-sig') as f:
        lines = [line.strip() for line in f if line.strip()]
    if not lines or lines[0] != str(num_landmarks):
        got = lines[0] if lines else 'nothing'
        raise ValueError(f'Label file {path}: first line must be {num_landmarks}, got {got!r}')
    if len(lines) < 1 + num_landmarks:
        raise ValueError(f'Label file {path}: {len(lines) - 1} coordinate lines, expected '
                         f'{num_landmarks}')
    ratios = np.empty((num_landmarks, 2))
    for i, line in enumerate(lines[1:1 + num_landmarks]):
        parts = line.split()
        try:
            if len(parts) != 2:
                raise ValueError
            ratios[i] = [float(parts[0]), float(parts[1])]
        except ValueError:
            raise ValueError(f'Label file {path}, landmark {i}: expected "x y", got '
                             f'{line!r}') from None
        if not ((ratios[i] >= 0) & (ratios[i] <= 1)).all():
            raise ValueError(f'Label file {path}, landmark {i}: ratios {line!r} outside [0, 1]')
    return ratios


def ratios_to_pixels(ratios: np.ndarray, width: int, height: int) -> np.ndarray:
    """GU2Net's ratio convention in original pixels: ``(rx * W, ry * H)``.

    Args:
        ratios (np.ndarray): ``(K, 2)`` width/height ratios.
        width (int): Image width in pixels.
        height (int): Image height in pixels.

    Returns:
        np.ndarray: ``(K, 2)`` pixel coordinates.
    """
    return np.asarray(ratios, dtype=np.float64) * np.array([width, height], dtype=np.float64)


def gu2net_chest_names(labels_dir: str, exclude=GU2NET_EXCLUDE) -> list:
    """Sorted names (no extension) of the labelled images GU2Net uses.

    Args:
        labels_dir (str): Folder of ``CHNCXR_*.txt`` label files.
        exclude (Iterable[str]): Names left out. Defaults to GU2Net's list.

    Returns:
        list[str]: Names starting with ``CHN`` and ending in ``0``, sorted.
    """
    if not osp.isdir(labels_dir):
        raise FileNotFoundError(f'Label folder {labels_dir} does not exist')
    excluded = set(exclude)
    stems = (osp.splitext(f)[0] for f in os.listdir(labels_dir) if f.endswith('.txt'))
    return sorted(s for s in stems if s.startswith('CHN') and s.endswith('0') and
                  s not in excluded)


def convert_gu2net_chest(root: str,
                         out_dir: str,
                         images_dir: str = None,
                         labels_dir: str = None,
                         exclude=GU2NET_EXCLUDE,
                         split_sizes=GU2NET_SPLIT_SIZES,
                         image_mode: str = 'symlink',
                         overwrite: bool = False) -> dict:
    """Write GU2Net's train/val/test split as COCO JSON files.

    Args:
        root (str): Folder holding ``pngs/`` and ``labels/``.
        out_dir (str): The data root to write.
        images_dir (str, optional): PNG folder. Defaults to ``root/pngs``.
        labels_dir (str, optional): Label folder. Defaults to
            ``root/labels``.
        exclude (Iterable[str]): Image names to leave out. Defaults to
            GU2Net's list.
        split_sizes (Sequence[int]): ``(train, val, test)`` image counts;
            their sum must equal the number of selected images. Defaults to
            GU2Net's (195, 34, 50).
        image_mode (str): ``'symlink'`` or ``'copy'`` into ``Images/``.
        overwrite (bool): Replace existing output files. Defaults to False.

    Returns:
        dict: Split name -> path of the written JSON.
    """
    images_dir = osp.join(root, 'pngs') if images_dir is None else images_dir
    labels_dir = osp.join(root, 'labels') if labels_dir is None else labels_dir
    if len(split_sizes) != 3 or min(split_sizes) < 0:
        raise ValueError(f'split_sizes must be 3 counts (train, val, test), got {split_sizes}')
    names = gu2net_chest_names(labels_dir, exclude)
    if len(names) != sum(split_sizes):
        raise ValueError(
            f'{labels_dir}: {len(names)} labelled normal Shenzhen images after the exclusions, '
            f'but split sizes {tuple(split_sizes)} add up to {sum(split_sizes)}; pass '
            '--split-sizes for a different set')

    paths = [osp.join(images_dir, f'{name}.png') for name in names]
    for name, path in zip(names, paths):
        if not osp.isfile(path):
            raise FileNotFoundError(f'Image file {path} does not exist (its label '
                                    f'{osp.join(labels_dir, name + ".txt")} does)')
    file_names = release_image_names(paths)
    bounds = np.cumsum([0, *split_sizes])
    cocos = {}
    for split, start, stop in zip(SPLITS, bounds[:-1], bounds[1:]):
        images, keypoints = [], []
        for n in range(start, stop):
            name, path = names[n], paths[n]
            width, height = read_image_size(path)
            ratios = read_gu2net_label(osp.join(labels_dir, f'{name}.txt'))
            # Ids number the sorted selection, so they are unique across splits.
            images.append(dict(id=int(n) + 1, file_name=file_names[osp.abspath(path)],
                               width=width, height=height))
            keypoints.append(ratios_to_pixels(ratios, width, height))
        if not images:
            raise ValueError(f'The {split} split would be empty (split sizes '
                             f'{tuple(split_sizes)})')
        info = dict(
            description="Shenzhen chest X-ray set, GU2Net's 6 landmarks", split=split,
            num_images=len(images), split_sizes=[int(s) for s in split_sizes],
            excluded=sorted(exclude), ratio_to_pixel='x = x_ratio * width, '
            'y = y_ratio * height (GU2Net chest.py readLandmark, without its rounding)')
        cocos[split] = make_coco(images, keypoints, CATEGORY_NAME, CHEST_LANDMARKS, info)

    return write_release(out_dir, SET_NAME, cocos, file_names, image_mode, overwrite)
