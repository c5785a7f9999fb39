"""Convert LabelMe point annotations to a landmark set in the configs' layout.

Each LabelMe JSON holds ``shapes`` (``label``, ``points``, ``shape_type``),
``imagePath`` (relative to the JSON file), ``imageWidth`` and
``imageHeight``. Every ``point`` shape must carry one of the given landmark
names; a landmark without a point in a file is stored as absent
(visibility 0). Other shape types (polygons, boxes...) are ignored.
Coordinates are copied unchanged.

Writes ``OUT_DIR/<SET>_coco_<SPLIT>_annotations.json`` and links (or copies)
the images into ``OUT_DIR/Images/``: the layout the configs read with
``data_root`` = ``OUT_DIR``. One run converts one split (``--split``,
default ``train``). A training run also writes
``<SET>_coco_val_annotations.json``: a seeded draw of the training files,
10 % by default (:data:`DEFAULT_VAL_FRACTION`), ``--val-fraction`` or
``--val-count`` otherwise; ``--val-fraction 0`` writes no validation split.
Run again with ``--split test`` (same ``OUT_DIR``) for the test files.

``INPUT`` is a LabelMe JSON file or a folder of them; with ``--ground-truth
mean`` one folder per annotator (files matched by name). Problems (unknown or
repeated labels, unresolvable images...) are all reported per file and
landmark; ``--on-error skip`` leaves those files out and lists them. A label
used twice is never resolved by guessing which occurrence is right.

The command line is ``tools/dataset_converters/labelme_to_coco.py``.
"""
import json
import os
import os.path as osp

import numpy as np

from ...fileio.image_reader import IMAGE_SUFFIXES, read_header_spacing
from ..coco_landmarks import make_coco
from ..release_layout import (DEFAULT_VAL_FRACTION, RELEASE_SPLITS, draw_validation,
                              release_image_names, summary_lines, write_release)


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


def read_labelme(path: str, names, img_root: str = None) -> dict:
    """Read one LabelMe file into an image entry, its landmarks and its problems.

    Nothing stops at the first problem: every one is listed, per landmark,
    so a user can fix a whole export at once.

    Args:
        path (str): LabelMe JSON file.
        names (Sequence[str]): Landmark names, in output order.
        img_root (str, optional): Where to look for ``<JSON stem>.<ext>``
            when ``imagePath`` does not resolve (older numbering, or a folder
            next to the JSON where no image is).

    Returns:
        dict: ``json``, ``image_path`` (resolved against the JSON's folder,
        else found by stem), ``width``, ``height``, ``keypoints`` (``(K, 2)``,
        NaN rows for landmarks without a point), ``absent`` (their names),
        ``problems`` (messages naming the file and the landmark) and
        ``notes`` (e.g. the image found by stem).
    """
    record = dict(json=path, image_path=None, keypoints=None, absent=[], problems=[], notes=[])
    problems = record['problems']
    if not osp.isfile(path):
        problems.append(f'LabelMe file {path} does not exist')
        return record
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        problems.append(f'LabelMe file {path} is not valid JSON: {e}')
        return record
    missing = [k for k in ('shapes', 'imagePath', 'imageWidth', 'imageHeight') if k not in data]
    if missing:
        problems.append(f'LabelMe file {path} lacks {", ".join(repr(k) for k in missing)}')
        return record

    index = {name: k for k, name in enumerate(names)}
    found = {}
    for shape in data['shapes']:
        points = shape.get('points') or []
        # Files from LabelMe versions without shape_type hold points as
        # one-point shapes.
        kind = shape.get('shape_type') or ('point' if len(points) == 1 else None)
        if kind != 'point':
            continue
        label = shape.get('label')
        if label not in index:
            problems.append(f'{path}: label {label!r} is not a landmark name (expected one of '
                            f'{", ".join(names)})')
            continue
        if len(points) != 1 or len(points[0]) != 2:
            problems.append(f'{path}: point {label!r} has {len(points)} points')
            continue
        found.setdefault(label, []).append((float(points[0][0]), float(points[0][1])))
    keypoints = np.full((len(names), 2), np.nan)
    for label, where in found.items():
        if len(where) > 1:
            # Either occurrence may be the intended one: never pick silently.
            problems.append(f'{path}: label {label!r} is used {len(where)} times, at '
                            f'{", ".join(f"({x:g}, {y:g})" for x, y in where)}')
        else:
            keypoints[index[label]] = where[0]
    record['absent'] = [n for n in names if n not in found]
    record.update(keypoints=keypoints, width=data['imageWidth'], height=data['imageHeight'])
    image_path = osp.normpath(osp.join(osp.dirname(path), data['imagePath']))
    if not osp.isfile(image_path) and img_root is not None:
        stem = osp.splitext(osp.basename(path))[0]
        matches = sorted(osp.join(img_root, f) for f in os.listdir(img_root)
                         if osp.splitext(f)[0] == stem and f.lower().endswith(IMAGE_SUFFIXES)) \
            if osp.isdir(img_root) else []
        if len(matches) == 1:
            record['notes'].append(f'{path}: imagePath {data["imagePath"]!r} does not resolve; '
                                   f'using {matches[0]} (same stem)')
            image_path = matches[0]
        elif len(matches) > 1:
            problems.append(f'{path}: imagePath {data["imagePath"]!r} does not resolve and '
                            f'{len(matches)} images in {img_root} have its stem: '
                            f'{", ".join(matches)}')
    record['image_path'] = image_path
    return record


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


def _annotator_records(folders, names, img_root) -> list:
    """One record per image stem with the mean of every annotator's landmarks."""
    per_folder = []
    for folder in folders:
        if not osp.isdir(folder):
            raise FileNotFoundError(f'Annotator folder {folder} does not exist')
        files = list_labelme_files([folder])
        per_folder.append({osp.splitext(osp.basename(f))[0]: f for f in files})
    stems = sorted(set().union(*per_folder))
    records = []
    for stem in stems:
        reads = [read_labelme(files[stem], names, img_root) if stem in files else None
                 for files in per_folder]
        first = next(r for r in reads if r is not None)
        record = dict(first, problems=[], notes=list(first['notes']), absent=[])
        for folder, r in zip(folders, reads):
            if r is None:
                record['problems'].append(f'{stem}: no LabelMe file in annotator folder {folder}')
                continue
            record['problems'] += r['problems']
            for name in r['absent']:
                record['problems'].append(f'{r["json"]}: landmark {name!r} is missing; the '
                                          f'mean ground truth needs it from every annotator')
        if not record['problems']:
            record['keypoints'] = np.mean([r['keypoints'] for r in reads], axis=0)
            record['json'] = ', '.join(r['json'] for r in reads)
        records.append(record)
    return records


def convert_labelme(inputs,
                    out_dir: str,
                    set_name: str,
                    names,
                    split: str = 'train',
                    category_name: str = 'landmarks',
                    img_root: str = None,
                    spacing=None,
                    overwrite: bool = False,
                    on_error: str = 'stop',
                    ground_truth: str = 'single',
                    val_fraction: float = None,
                    val_count: int = None,
                    seed: int = 0,
                    image_mode: str = 'symlink',
                    report: dict = None) -> dict:
    """Write one split (and a drawn validation split) of LabelMe files.

    Args:
        inputs (Sequence[str]): LabelMe JSON files and/or folders of them;
            with ``ground_truth='mean'``, one folder per annotator.
        out_dir (str): The data root to write.
        set_name (str): File prefix: ``<set>_coco_<split>_annotations.json``
            (``head``, ``hand``, ``teeth``... as the config reads).
        names (Sequence[str]): Landmark names, in output order.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to
            ``'train'``.
        category_name (str): Category name. Defaults to ``'landmarks'``.
        img_root (str, optional): Images whose ``imagePath`` does not resolve
            are looked for here by the JSON's stem.
        spacing (float | Sequence[float], optional): Pixel spacing (x, y)
            stored on every image. Without it, an image whose file states
            one (DICOM ``PixelSpacing`` / ``ImagerPixelSpacing``, MetaImage
            ``ElementSpacing``) gets that, with the tag in ``spacing_source``;
            the others get none, which is warned about and written into the
            JSON ``info``: the dataset class's default will apply.
        overwrite (bool): Replace existing output files. Defaults to False.
        on_error (str): ``'stop'``: any problem in any file is an error
            listing every problem. ``'skip'``: files with problems are left
            out and listed in ``report``. Defaults to ``'stop'``.
        ground_truth (str): ``'single'`` or ``'mean'`` (the mean of the
            annotator folders' landmarks, matched by file stem; every
            landmark is required from every annotator).
        val_fraction (float, optional): With ``split='train'``, the share of
            the files drawn as the validation split; 0 draws none. Defaults
            to :data:`DEFAULT_VAL_FRACTION` (when ``val_count`` is not given
            either), so a converted training set has a validation split.
        val_count (int, optional): Or their exact number.
        seed (int): Seed of the validation draw. Defaults to 0.
        image_mode (str): ``'symlink'`` or ``'copy'`` into ``Images/``.
        report (dict, optional): Filled with ``skipped`` (``{file: [problems]}``),
            ``notes`` and ``warnings``.

    Returns:
        dict: Split -> path of the written annotation file.
    """
    if on_error not in ('stop', 'skip'):
        raise ValueError(f"on_error must be 'stop' or 'skip', got {on_error!r}")
    if ground_truth not in ('single', 'mean'):
        raise ValueError(f"ground_truth must be 'single' or 'mean', got {ground_truth!r}")
    if split not in RELEASE_SPLITS:
        raise ValueError(f'split must be one of {RELEASE_SPLITS}, got {split!r}')
    if split != 'train' and (val_fraction is not None or val_count is not None):
        raise ValueError('A validation split is drawn from training files only (split="train")')
    report = {} if report is None else report
    if isinstance(inputs, str):
        inputs = [inputs]
    if ground_truth == 'mean':
        if len(inputs) < 2:
            raise ValueError('ground_truth="mean" needs two or more annotator folders')
        records = _annotator_records(inputs, names, img_root)
    else:
        records = [read_labelme(path, names, img_root) for path in list_labelme_files(inputs)]
    for record in records:
        if record['image_path'] and not osp.isfile(record['image_path']):
            record['problems'].append(f'{record["json"]}: image file {record["image_path"]} '
                                      f'does not exist')
    bad = {r['json']: r['problems'] for r in records if r['problems']}
    report.update(skipped=bad, notes=[n for r in records for n in r['notes']], warnings=[])
    if bad and on_error == 'stop':
        lines = [p for problems in bad.values() for p in problems]
        raise ValueError(f'{len(lines)} problem(s) in {len(bad)} LabelMe file(s) (pass '
                         f'--on-error skip to leave those files out):\n  ' + '\n  '.join(lines))
    records = [r for r in records if not r['problems']]
    if not records:
        raise ValueError(f'No usable LabelMe file: all {len(bad)} have problems')
    file_names = release_image_names(r['image_path'] for r in records)

    entries, without_spacing = [], []
    for n, r in enumerate(records):
        entry = dict(id=n + 1, file_name=file_names[osp.abspath(r['image_path'])],
                     width=r['width'], height=r['height'], spacing=spacing,
                     source_json=r['json'])
        if spacing is None:
            header_spacing, tag = read_header_spacing(r['image_path'])
            if header_spacing is not None:
                entry.update(spacing=list(header_spacing), spacing_source=tag)
            else:
                without_spacing.append(entry['file_name'])
        entries.append((entry, r['keypoints']))
    parts = {split: entries}
    carved = None
    if split == 'train':
        if val_fraction is None and val_count is None and len(entries) < 2:
            raise ValueError(f'The default validation draw ({DEFAULT_VAL_FRACTION:g} of the '
                             f'training files) needs two or more files, got {len(entries)}; '
                             'pass --val-fraction 0 to write no validation split')
        train, val, drawn = draw_validation(entries, val_fraction, val_count, seed,
                                            default_fraction=DEFAULT_VAL_FRACTION)
        if val:  # a draw of 0 (--val-fraction 0) means no validation split at all
            parts['train'], parts['val'], carved = train, val, drawn

    cocos = {}
    for part, items in parts.items():
        info = dict(description='converted from LabelMe point annotations', split=part,
                    num_images=len(items), coordinates='pixels, as in the LabelMe files',
                    ground_truth=ground_truth)
        if carved:
            info['validation_carved'] = carved
        if bad:
            info['skipped_files'] = {f: p for f, p in bad.items()}
        missing = [e['file_name'] for e, _ in items if e['file_name'] in without_spacing]
        if missing:
            warning = (f'{len(missing)} of {len(items)} {part} image(s) have no pixel spacing '
                       f'(none given with --spacing, none in the image header): give the '
                       f'dataset a spacing in the config (dataset=dict(spacing=(sx, sy))) or '
                       f'use a class with a DEFAULT_SPACING; MedicalLandmarkDataset has none '
                       f'and stops at build, naming these images')
            info['spacing_warning'] = warning
            info['images_without_spacing'] = missing
            report['warnings'].append(warning)
        cocos[part] = make_coco([e for e, _ in items], [k for _, k in items], category_name,
                                names, info)
    return write_release(out_dir, set_name, cocos, file_names, image_mode, overwrite)


def labelme_summary(paths: dict, report: dict) -> list:
    """What the converter prints: notes, skipped files, warnings, written files.

    Args:
        paths (dict): Split -> written annotation file, from
            :func:`convert_labelme`.
        report (dict): The ``report`` that call filled.

    Returns:
        list[str]: The lines, in that order.
    """
    lines = [f'note: {note}' for note in report['notes']]
    if report['skipped']:
        lines.append(f'skipped {len(report["skipped"])} file(s):')
        for name, problems in report['skipped'].items():
            lines.append(f'  {name}:')
            lines += [f'    {problem}' for problem in problems]
    lines += [f'WARNING: {warning}' for warning in report['warnings']]
    return lines + summary_lines(paths)
