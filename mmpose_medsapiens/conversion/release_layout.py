"""The folder layout converted data is written in: the one the configs read.

Every shipped config reads a landmark set as MedSapiens releases it::

    DATA_ROOT/<set>_coco_train_annotations.json
    DATA_ROOT/<set>_coco_val_annotations.json
    DATA_ROOT/<set>_coco_test_annotations.json
    DATA_ROOT/Images/<file_name>

(``data_prefix=dict(img='Images/')``). The converters write exactly this, so
a converted set trains with ``data_root`` pointed at the output folder and
nothing renamed or edited. Source images are linked (or copied) into
``Images/`` under unique names; the sources are never touched.
"""
import filecmp
import os
import os.path as osp
import shutil
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np

from ..utils.file_writing import ensure_new_files
from .coco_landmarks import write_coco

IMAGES_DIR = 'Images'
RELEASE_SPLITS = ('train', 'val', 'test')
IMAGE_MODES = ('symlink', 'copy')
#: Share of the training samples drawn as validation when a source has no
#: validation split and the user gives neither a fraction nor a count.
DEFAULT_VAL_FRACTION = 0.1


def annotation_file(out_dir: str, set_name: str, split: str) -> str:
    """Path of ``<set>_coco_<split>_annotations.json`` in ``out_dir``.

    Args:
        out_dir (str): The data root being written.
        set_name (str): The file prefix the configs use (``head``, ``hand``,
            ``chest``, ``leg``, ``teeth``...).
        split (str): ``train``, ``val``, ``test`` or another name (e.g.
            ``test2``), which then needs ``ann_file`` set in the config.

    Returns:
        str: The path.
    """
    return osp.join(out_dir, f'{set_name}_coco_{split}_annotations.json')


def carve_validation(ids: Sequence, num_val: int, seed: int = 0) -> Tuple[List, List]:
    """Split ``ids`` into training and validation ids with a seeded shuffle.

    The same ids, count and seed always give the same split, whatever the
    machine. Each part keeps the order ``ids`` had.

    Args:
        ids (Sequence): Sample ids (any hashable values), no repeats.
        num_val (int): Ids to move to validation; at least one id must stay
            for training.
        seed (int): Seed of the shuffle. Defaults to 0.

    Returns:
        tuple[list, list]: ``(train_ids, val_ids)``.

    Raises:
        ValueError: ``num_val`` is negative or leaves no training id.
    """
    ids = list(ids)
    if not 0 <= num_val < len(ids):
        raise ValueError(f'Cannot carve {num_val} validation sample(s) out of {len(ids)}: '
                         f'between 0 and {len(ids) - 1} are possible')
    order = np.random.RandomState(seed).permutation(len(ids))
    chosen = set(order[:num_val].tolist())
    train = [i for n, i in enumerate(ids) if n not in chosen]
    val = [i for n, i in enumerate(ids) if n in chosen]
    return train, val


def validation_count(num_ids: int, val_fraction: float = None, val_count: int = None) -> int:
    """Number of validation samples from a fraction or a count (not both).

    Args:
        num_ids (int): Samples available.
        val_fraction (float, optional): Share in ``[0, 1)``, rounded to the
            nearest count (at least 1 when the share is above 0).
        val_count (int, optional): Exact count.

    Returns:
        int: The count.
    """
    if val_fraction is not None and val_count is not None:
        raise ValueError('Give a validation fraction or a validation count, not both')
    if val_count is not None:
        return int(val_count)
    if val_fraction is None:
        return 0
    if not 0 <= val_fraction < 1:
        raise ValueError(f'The validation fraction must be in [0, 1), got {val_fraction}')
    return max(1, int(round(num_ids * val_fraction))) if val_fraction > 0 else 0


def draw_validation(ids: Sequence, val_fraction: float = None, val_count: int = None,
                    seed: int = 0, default_fraction: float = DEFAULT_VAL_FRACTION):
    """Draw the validation split out of the training samples.

    Args:
        ids (Sequence): Training samples (any values), in their order.
        val_fraction (float, optional): Share to draw.
        val_count (int, optional): Or an exact count (not both).
        seed (int): Seed of the draw. Defaults to 0.
        default_fraction (float, optional): Share drawn when neither is
            given. Defaults to :data:`DEFAULT_VAL_FRACTION`.

    Returns:
        tuple: ``(train, val, record)``; ``record`` is what the JSON ``info``
        keeps of the draw (``validation_carved``).
    """
    if val_fraction is None and val_count is None:
        val_fraction = default_fraction
    num_val = validation_count(len(ids), val_fraction, val_count)
    train, val = carve_validation(ids, num_val, seed)
    return train, val, dict(from_split='train', num_val=num_val, seed=seed)


def release_image_names(paths: Iterable[str]) -> Dict[str, str]:
    """Name of each source image inside ``Images/``: its own file name.

    Args:
        paths (Iterable[str]): Source image paths (repeats allowed).

    Returns:
        dict: Source path -> file name in ``Images/``.

    Raises:
        ValueError: Two different files share a name; both are named.
    """
    names, owner = {}, {}
    for path in paths:
        path = osp.abspath(path)
        if path in names:
            continue
        name = osp.basename(path)
        if name in owner:
            raise ValueError(f'Two images would both be Images/{name}: {owner[name]} and {path}; '
                             'rename one of them')
        owner[name] = path
        names[path] = name
    return names


def place_images(out_dir: str, names: Dict[str, str], mode: str = 'symlink',
                 overwrite: bool = False) -> int:
    """Link or copy the source images into ``out_dir/Images``.

    Every destination is looked at once, before anything is placed: one that
    already is the source (same file, e.g. the link of an earlier run, or a
    byte-equal copy) is kept, so converting twice, or each split in its own
    run, places each image once; another file under a planned name stops the
    run unless ``overwrite``.

    Args:
        out_dir (str): The data root being written.
        names (dict): Source path -> name, from :func:`release_image_names`.
        mode (str): ``'symlink'`` (absolute links, the default: no disk
            space, the sources must stay where they are) or ``'copy'``.
        overwrite (bool): Replace other files under the planned names.

    Returns:
        int: Images newly placed (those already in place are not counted).

    Raises:
        FileExistsError: Naming the clashing files.
    """
    if mode not in IMAGE_MODES:
        raise ValueError(f'Image mode must be one of {IMAGE_MODES}, got {mode!r}')
    folder = osp.join(out_dir, IMAGES_DIR)
    targets = {src: osp.join(folder, name) for src, name in names.items()}
    in_place = {src: osp.lexists(dst) and _already_placed(src, dst)
                for src, dst in targets.items()}
    clashes = [f'{dst} (for {src})' for src, dst in targets.items()
               if osp.lexists(dst) and not in_place[src]]
    if clashes and not overwrite:
        raise FileExistsError(f'{len(clashes)} file(s) in {folder} are other images than the '
                              f'ones to place there: {", ".join(clashes[:5])} (pass '
                              f'--overwrite to replace them)')
    os.makedirs(folder, exist_ok=True)
    placed = 0
    for src, dst in targets.items():
        if not osp.isfile(src):
            raise FileNotFoundError(f'Image {src} does not exist')
        if osp.lexists(dst):
            if in_place[src] and (mode == 'symlink') == osp.islink(dst):
                continue
            os.remove(dst)
        if mode == 'symlink':
            os.symlink(src, dst)
        else:
            tmp = f'{dst}.tmp{os.getpid()}'
            shutil.copy2(src, tmp)
            os.replace(tmp, dst)
        placed += 1
    return placed


def summary_lines(paths: Dict[str, str], notes: Dict[str, str] = None) -> List[str]:
    """The ``<split>: <path>`` lines a converter prints once it has written.

    Args:
        paths (dict): Split -> path of the written annotation file.
        notes (dict, optional): Split -> text appended to its line.

    Returns:
        list[str]: One line per split, in the order of ``paths``.
    """
    notes = notes or {}
    return [f'{split}: {path}{notes.get(split, "")}' for split, path in paths.items()]


def write_release(out_dir: str, set_name: str, cocos: Dict[str, dict], names: Dict[str, str],
                  image_mode: str = 'symlink', overwrite: bool = False) -> Dict[str, str]:
    """Write annotation files and place images, after checking every target.

    All destinations are checked before anything is written, so a run that
    would replace a file the user has writes nothing.

    Args:
        out_dir (str): The data root being written.
        set_name (str): File prefix (see :func:`annotation_file`).
        cocos (dict): Split -> COCO dict whose ``file_name`` values are the
            ``names`` values.
        names (dict): Source image path -> name in ``Images/``.
        image_mode (str): ``'symlink'`` or ``'copy'``.
        overwrite (bool): Replace existing files. Defaults to False.

    Returns:
        dict: Split -> path of the written annotation file.
    """
    paths = {split: annotation_file(out_dir, set_name, split) for split in cocos}
    ensure_new_files(paths.values(), overwrite)
    place_images(out_dir, names, image_mode, overwrite)  # checks all its targets first
    for split, coco in cocos.items():
        write_coco(coco, paths[split], overwrite=overwrite)
    return paths


def _already_placed(src: str, dst: str) -> bool:
    """``dst`` is ``src`` (a link, or a hard link) or a byte-equal copy."""
    try:
        return osp.samefile(src, dst) or (osp.isfile(dst) and not osp.islink(dst)
                                          and filecmp.cmp(src, dst, shallow=False))
    except OSError:
        return False
