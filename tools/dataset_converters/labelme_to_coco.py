"""Convert LabelMe point annotations to one landmark COCO JSON file.

Each LabelMe JSON holds ``shapes`` (``label``, ``points``, ``shape_type``),
``imagePath`` (relative to the JSON file), ``imageWidth`` and
``imageHeight``. Every ``point`` shape must carry one of the given landmark
names; a landmark without a point in a file is stored as absent
(visibility 0). Other shape types (polygons, boxes...) are ignored.
Coordinates are copied unchanged.

Usage:
    python tools/dataset_converters/labelme_to_coco.py INPUT [INPUT ...] \
        --out OUT.json (--names a,b,c | --names-file NAMES.txt) \
        [--category NAME] [--img-root DIR] [--spacing SX [SY]] [--overwrite]

``INPUT`` is a LabelMe JSON file or a folder of them.
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402

from mmpose_medsapiens.datasets.coco_landmarks import make_coco, write_coco  # noqa: E402
from mmpose_medsapiens.datasets.image_io import read_header_spacing  # noqa: E402


def read_names(names: str = None, names_file: str = None) -> list:
    """Landmark names from ``'a,b,c'`` or a file with one name per line.

    Args:
        names (str, optional): Comma-separated names.
        names_file (str, optional): Text file; blank lines and lines starting
            with ``#`` are skipped.

    Returns:
        list[str]: The names, in order.
    """
    if (names is None) == (names_file is None):
        raise ValueError('give exactly one of names / names_file')
    if names_file is not None:
        if not osp.isfile(names_file):
            raise FileNotFoundError(f'Names file {names_file} does not exist')
        with open(names_file, encoding='utf-8-sig') as f:
            result = [s.strip() for s in f if s.strip() and not s.strip().startswith('#')]
    else:
        result = [s.strip() for s in names.split(',') if s.strip()]
    if not result or len(set(result)) != len(result):
        raise ValueError(f'landmark names must be non-empty and unique, got {result}')
    return result


def read_labelme(path: str, names) -> dict:
    """Read one LabelMe file into an image entry and its landmarks.

    Args:
        path (str): LabelMe JSON file.
        names (Sequence[str]): Landmark names, in output order.

    Returns:
        dict: ``image_path`` (resolved against the JSON's folder),
        ``width``, ``height`` and ``keypoints`` (``(K, 2)``, NaN rows for
        landmarks without a point).

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: Invalid JSON, missing keys, a label not in ``names``, a
            label used twice or a point shape without exactly one point;
            names the file.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'LabelMe file {path} does not exist')
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'LabelMe file {path} is not valid JSON: {e}') from e
    for key in ('shapes', 'imagePath', 'imageWidth', 'imageHeight'):
        if key not in data:
            raise ValueError(f'LabelMe file {path} lacks "{key}"')

    index = {name: k for k, name in enumerate(names)}
    keypoints = np.full((len(names), 2), np.nan)
    for shape in data['shapes']:
        points = shape.get('points') or []
        # Files from LabelMe versions without shape_type hold points as
        # one-point shapes.
        kind = shape.get('shape_type') or ('point' if len(points) == 1 else None)
        if kind != 'point':
            continue
        label = shape.get('label')
        if label not in index:
            raise ValueError(f'LabelMe file {path}: label {label!r} is not a landmark name '
                             f'(expected one of {", ".join(names)})')
        if len(points) != 1 or len(points[0]) != 2:
            raise ValueError(f'LabelMe file {path}: point {label!r} has {len(points)} points')
        k = index[label]
        if not np.isnan(keypoints[k]).all():
            raise ValueError(f'LabelMe file {path}: label {label!r} is used more than once')
        keypoints[k] = [float(points[0][0]), float(points[0][1])]
    image_path = osp.normpath(osp.join(osp.dirname(path), data['imagePath']))
    return dict(image_path=image_path, width=data['imageWidth'], height=data['imageHeight'],
                keypoints=keypoints)


def list_labelme_files(inputs) -> list:
    """Expand folders to their ``*.json`` files (sorted), keeping order.

    Args:
        inputs (Sequence[str]): Files and/or folders.

    Returns:
        list[str]: The JSON files, each once.
    """
    files = []
    for item in inputs:
        if osp.isdir(item):
            files += sorted(osp.join(item, f) for f in os.listdir(item)
                            if f.lower().endswith('.json'))
        elif osp.isfile(item):
            files.append(item)
        else:
            raise FileNotFoundError(f'LabelMe input {item} does not exist')
    unique = list(dict.fromkeys(osp.abspath(f) for f in files))
    if not unique:
        raise FileNotFoundError(f'No LabelMe JSON files in {", ".join(inputs)}')
    return unique


def convert_labelme(inputs,
                    out_file: str,
                    names,
                    category_name: str = 'landmarks',
                    img_root: str = None,
                    spacing=None,
                    check_images: bool = True,
                    overwrite: bool = False) -> str:
    """Write one COCO JSON file for a set of LabelMe files.

    Args:
        inputs (Sequence[str]): LabelMe JSON files and/or folders of them.
        out_file (str): Output JSON path.
        names (Sequence[str]): Landmark names, in output order.
        category_name (str): Category name. Defaults to ``'landmarks'``.
        img_root (str, optional): ``file_name`` is relative to this folder.
            Defaults to the deepest folder holding all the images.
        spacing (float | Sequence[float], optional): Pixel spacing (x, y)
            stored on every image. Without it, an image whose file states
            one (DICOM ``PixelSpacing`` / ``ImagerPixelSpacing``, MetaImage
            ``ElementSpacing``) gets that, with the tag in ``spacing_source``.
        check_images (bool): Require the image files to exist. Defaults to
            True.
        overwrite (bool): Replace an existing output file. Defaults to False.

    Returns:
        str: ``out_file``.
    """
    if isinstance(inputs, str):
        inputs = [inputs]
    records = [read_labelme(path, names) for path in list_labelme_files(inputs)]
    if check_images:
        for record in records:
            if not osp.isfile(record['image_path']):
                raise FileNotFoundError(f'Image file {record["image_path"]} does not exist')
    if img_root is None:
        img_root = osp.commonpath([osp.dirname(osp.abspath(r['image_path'])) for r in records])
    images = []
    for n, r in enumerate(records):
        entry = dict(id=n + 1,
                     file_name=osp.relpath(r['image_path'], img_root).replace(os.sep, '/'),
                     width=r['width'], height=r['height'], spacing=spacing)
        if spacing is None and osp.isfile(r['image_path']):
            header_spacing, tag = read_header_spacing(r['image_path'])
            if header_spacing is not None:
                entry.update(spacing=list(header_spacing), spacing_source=tag)
        images.append(entry)
    info = dict(description='converted from LabelMe point annotations',
                num_images=len(images), coordinates='pixels, as in the LabelMe files')
    coco = make_coco(images, [r['keypoints'] for r in records], category_name, names, info)
    return write_coco(coco, out_file, overwrite=overwrite)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', nargs='+', help='LabelMe JSON files or folders of them')
    parser.add_argument('--out', required=True, help='output COCO JSON file')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--names', help='landmark names in order, comma-separated')
    group.add_argument('--names-file', help='text file with one landmark name per line')
    parser.add_argument('--category', default='landmarks', help='category name')
    parser.add_argument('--img-root', default=None,
                        help='file names are relative to this folder (default: the deepest '
                        'folder holding all images)')
    parser.add_argument('--spacing', type=float, nargs='+', default=None, metavar='S',
                        help='pixel spacing stored on every image: S or SX SY')
    parser.add_argument('--no-check-images', action='store_true',
                        help='do not require the image files to exist')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing file')
    args = parser.parse_args(argv)
    if args.spacing is not None and len(args.spacing) > 2:
        parser.error('--spacing takes one or two values')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        names = read_names(args.names, args.names_file)
        path = convert_labelme(args.inputs, args.out, names, args.category, args.img_root,
                               args.spacing, not args.no_check_images, args.overwrite)
    except (ValueError, OSError) as e:
        sys.exit(f'error: {e}')
    print(path)
    return path


if __name__ == '__main__':
    main()
