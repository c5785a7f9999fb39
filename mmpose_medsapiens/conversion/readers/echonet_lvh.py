"""Convert EchoNet-LVH (PLAX echo videos + measurement lines) to landmark COCO JSON.

Expected layout under ``ROOT`` (the Stanford AIMI release)::

    MeasurementsList.csv      ,HashedFileName,Calc,CalcValue,Frame,X1,X2,Y1,Y2,
                              Frames,FPS,Width,Height,split
    Batch1/<HashedFileName>.avi ... Batch4/

Each CSV row is one clinician's measurement line from ``(X1, Y1)`` to
``(X2, Y2)`` (frame pixels) on frame ``Frame`` of a video, ``Calc`` naming it
(``IVSd``, ``LVIDd``, ``LVPWd`` at end-diastole; others are ignored) and
``CalcValue`` its length in ``--calc-unit`` (cm). For every video with the
three end-diastolic lines on one frame, that frame becomes an image with 4
landmarks down the line: the top of IVSd, the IVSd/LVIDd junction, the
LVIDd/LVPWd junction and the bottom of LVPWd (each line's ends ordered by
depth; a junction is the mean of the two line ends that meet there).

The release states no pixel spacing. It is derived per video from the
clinician's values: ``10 * CalcValue / line length in pixels`` mm per pixel
for each of the three lines, which must agree within ``--spacing-tolerance``
(default 5 %); their mean is the image's ``spacing`` (``spacing_source``:
``derived from CalcValue``).

Writes ``echonet_lvh_coco_{train,val,test}_annotations.json`` (the CSV's
``split``) and ``Images/<HashedFileName>_f<Frame>.png``. Videos without the
three lines on one frame are listed with the reason in each file's
``info['skipped']`` and printed. A frame outside its video, a CSV size other
than the video's, a line given twice or spacings that disagree are errors
naming the video.

The command line is ``tools/dataset_converters/echonet_lvh_to_coco.py``.
"""
import csv
import glob
import os.path as osp
from collections import defaultdict

import cv2
import numpy as np

from ...datasets.echo_datasets import ECHONET_LVH_NAMES
from ...utils.file_writing import ensure_new_files, write_atomically
from ..coco_landmarks import make_coco, write_coco
from ..release_layout import annotation_file, summary_lines

SET_NAME = 'echonet_lvh'
CSV_NAME = 'MeasurementsList.csv'
CSV_COLUMNS = ('HashedFileName', 'Calc', 'CalcValue', 'Frame', 'X1', 'X2', 'Y1', 'Y2',
               'Width', 'Height', 'split')
LINES = ('IVSd', 'LVIDd', 'LVPWd')  # top to bottom
SPLITS = ('train', 'val', 'test')
MM_PER_UNIT = {'cm': 10.0, 'mm': 1.0}


class EchoNetFormatError(ValueError):
    """A release file that does not have EchoNet-LVH's format, named in the message."""


def read_measurements(path: str) -> dict:
    """Video -> ``{Calc: row}`` of the end-diastolic lines, with numbers parsed.

    Args:
        path (str): ``MeasurementsList.csv``.

    Returns:
        dict: ``HashedFileName`` -> ``{Calc: row}`` (IVSd, LVIDd, LVPWd).

    Raises:
        EchoNetFormatError: Missing columns, a non-numeric value, a line
            given twice for one video, or one video in two splits.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist')
    videos = defaultdict(dict)
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise EchoNetFormatError(f'{path}: missing column(s) {missing}')
        for line, row in enumerate(reader, start=2):
            if row['Calc'] not in LINES:
                continue
            video = row['HashedFileName']
            where = f'{path}, line {line} ({video} {row["Calc"]})'
            try:
                parsed = dict(row, **{k: float(row[k]) for k in
                                      ('CalcValue', 'X1', 'X2', 'Y1', 'Y2', 'Width', 'Height')})
                parsed['Frame'] = int(float(row['Frame']))
            except ValueError as e:
                raise EchoNetFormatError(f'{where}: not a number ({e})') from e
            if row['Calc'] in videos[video]:
                raise EchoNetFormatError(f'{where}: {video} has a second {row["Calc"]} line')
            if row['split'] not in SPLITS:
                raise EchoNetFormatError(f'{where}: split {row["split"]!r} is not one of '
                                         f'{SPLITS}')
            others = {r['split'] for r in videos[video].values()} - {row['split']}
            if others:
                raise EchoNetFormatError(f'{where}: {video} is in splits {sorted(others)} and '
                                         f'{row["split"]!r}')
            videos[video][row['Calc']] = parsed
    return dict(videos)


def landmarks_of(lines: dict) -> tuple:
    """The 4 landmarks (4, 2) and the largest junction gap (px) of one video's lines.

    Args:
        lines (dict): ``{Calc: row}`` of one video (the three lines).

    Returns:
        tuple: ``(points (4, 2), gap)``: the landmarks down the line and the
        largest distance between two line ends that meet at a junction.
    """
    ends = []
    for calc in LINES:
        r = lines[calc]
        pair = sorted([(r['X1'], r['Y1']), (r['X2'], r['Y2'])], key=lambda p: p[1])
        ends.append(np.array(pair, dtype=np.float64))  # [top, bottom] by depth
    (ivs, lvid, lvpw) = ends
    points = np.stack([ivs[0], (ivs[1] + lvid[0]) / 2, (lvid[1] + lvpw[0]) / 2, lvpw[1]])
    gap = max(np.linalg.norm(ivs[1] - lvid[0]), np.linalg.norm(lvid[1] - lvpw[0]))
    return points, float(gap)


def derived_spacing(lines: dict, video: str, calc_unit: str, tolerance: float) -> float:
    """mm per pixel from the clinician's values and the lines' pixel lengths.

    Args:
        lines (dict): ``{Calc: row}`` of one video (the three lines).
        video (str): Its name, for the messages.
        calc_unit (str): Unit of ``CalcValue``: ``'cm'`` or ``'mm'``.
        tolerance (float): How far apart (relative) the three lines'
            spacings may be.

    Returns:
        float: The mean of the three lines' spacings.

    Raises:
        EchoNetFormatError: A line of no length or value, or spacings that
            disagree.
    """
    values = {}
    for calc in LINES:
        r = lines[calc]
        length = float(np.hypot(r['X2'] - r['X1'], r['Y2'] - r['Y1']))
        if not length > 0 or not r['CalcValue'] > 0:
            raise EchoNetFormatError(f'{video}: {calc} has length {length:g} px and value '
                                     f'{r["CalcValue"]:g} {calc_unit}: no spacing follows')
        values[calc] = MM_PER_UNIT[calc_unit] * r['CalcValue'] / length
    low, high = min(values.values()), max(values.values())
    if high / low - 1 > tolerance:
        raise EchoNetFormatError(
            f'{video}: the lines give different spacings '
            f'({", ".join(f"{k} {v:.4f}" for k, v in values.items())} mm/px; more than '
            f'{100 * tolerance:g} % apart): check --calc-unit or the lines')
    return float(np.mean(list(values.values())))


def read_frame(path: str, frame: int, video: str) -> np.ndarray:
    """Frame ``frame`` (0-based) of a video as BGR.

    Args:
        path (str): The ``.avi`` file.
        frame (int): Frame index, 0-based.
        video (str): The video's name, for the messages.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 BGR frame.

    Raises:
        EchoNetFormatError: The frame is outside the video, or unreadable.
    """
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise EchoNetFormatError(f'{path} ({video}): OpenCV cannot open the video')
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if not 0 <= frame < count:
            raise EchoNetFormatError(f'{path} ({video}): frame {frame} is outside the video '
                                     f'(frames 0..{count - 1})')
        cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
        ok, img = cap.read()
    finally:
        cap.release()
    if not ok or img is None:
        raise EchoNetFormatError(f'{path} ({video}): frame {frame} cannot be decoded')
    return img


def convert_echonet_lvh(root: str, out_dir: str, calc_unit: str = 'cm',
                        spacing_tolerance: float = 0.05, overwrite: bool = False) -> tuple:
    """Write the three annotation files and the frames into ``out_dir``.

    Args:
        root (str): The release root (``MeasurementsList.csv`` and the
            ``Batch*/`` video folders).
        out_dir (str): The data root to write.
        calc_unit (str): Unit of ``CalcValue``: ``'cm'`` (default) or
            ``'mm'``.
        spacing_tolerance (float): How far apart (relative) the three lines'
            spacings may be. Defaults to 0.05.
        overwrite (bool): Replace existing output files. Defaults to False.

    Returns:
        tuple: (split -> written JSON path, {video: reason} of skipped videos).
    """
    if calc_unit not in MM_PER_UNIT:
        raise ValueError(f'calc_unit must be one of {sorted(MM_PER_UNIT)}, got {calc_unit!r}')
    videos = read_measurements(osp.join(root, CSV_NAME))
    files = {}
    videos_found = glob.glob(osp.join(root, '*', '*.avi')) + glob.glob(osp.join(root, '*.avi'))
    for path in sorted(videos_found):
        stem = osp.splitext(osp.basename(path))[0]
        if stem in files:
            raise EchoNetFormatError(f'{stem}: two videos, {files[stem]} and {path}')
        files[stem] = path

    samples, skipped = [], {}
    for video in sorted(videos):
        lines = videos[video]
        absent = [c for c in LINES if c not in lines]
        if absent:
            skipped[video] = f'no {"/".join(absent)} line'
            continue
        frames = {lines[c]['Frame'] for c in LINES}
        if len(frames) != 1:
            skipped[video] = f'lines on frames {sorted(frames)}, not on one'
            continue
        if video not in files:
            raise FileNotFoundError(f'{video}.avi (listed in {CSV_NAME}) is not under {root}')
        points, gap = landmarks_of(lines)
        samples.append(dict(video=video, frame=frames.pop(), points=points, gap=gap,
                            split=lines['IVSd']['split'], size=(lines['IVSd']['Width'],
                                                                lines['IVSd']['Height']),
                            spacing=derived_spacing(lines, video, calc_unit,
                                                    spacing_tolerance)))
    if not samples:
        raise EchoNetFormatError(f'{root}: no video has the three end-diastolic lines')

    paths = {s: annotation_file(out_dir, SET_NAME, s) for s in SPLITS}
    targets = {s['video']: osp.join(out_dir, 'Images', f'{s["video"]}_f{s["frame"]}.png')
               for s in samples}
    ensure_new_files(list(paths.values()) + list(targets.values()), overwrite)
    for s in samples:  # every frame read and checked before anything is written
        _checked_frame(files[s['video']], s)
    for s in samples:  # read again rather than held: 12,000 frames do not fit in memory
        ok, png = cv2.imencode('.png', _checked_frame(files[s['video']], s))
        write_atomically(targets[s['video']], lambda f, data=png: f.write(data.tobytes()),
                         overwrite, binary=True)
    written = {}
    for split in SPLITS:
        chosen = [s for s in samples if s['split'] == split]
        if not chosen:
            continue  # a partial copy without this split
        images = [dict(file_name=osp.basename(targets[s['video']]), width=int(s['size'][0]),
                       height=int(s['size'][1]), spacing=[s['spacing']] * 2,
                       spacing_source='derived from CalcValue', video=s['video'],
                       frame=s['frame'], junction_gap_px=round(s['gap'], 3)) for s in chosen]
        info = dict(description='EchoNet-LVH end-diastolic PLAX frames', split=split,
                    landmarks='IVSd top, IVSd/LVIDd, LVIDd/LVPWd, LVPWd bottom',
                    spacing=f'10 * CalcValue [{calc_unit}] / line length, mean of the three '
                    f'lines (agreeing within {100 * spacing_tolerance:g} %)',
                    skipped=skipped, num_images=len(images))
        write_coco(make_coco(images, [s['points'] for s in chosen], SET_NAME,
                             ECHONET_LVH_NAMES, info), paths[split], overwrite=overwrite)
        written[split] = paths[split]
    return written, skipped


def _checked_frame(path: str, sample: dict) -> np.ndarray:
    img = read_frame(path, sample['frame'], sample['video'])
    if (img.shape[1], img.shape[0]) != sample['size']:
        raise EchoNetFormatError(f'{path}: frames are {img.shape[1]}x{img.shape[0]}, {CSV_NAME} '
                                 f'says {sample["size"][0]:g}x{sample["size"][1]:g}')
    return img


def echonet_lvh_summary(paths: dict, skipped: dict) -> list:
    """What the converter prints: the written files, then the skipped videos.

    Args:
        paths (dict): Split -> written annotation file.
        skipped (dict): Video -> why it was left out; both as returned by
            :func:`convert_echonet_lvh`.

    Returns:
        list[str]: The lines.
    """
    return summary_lines(paths) + [f'skipped {video}: {reason}'
                                   for video, reason in skipped.items()]
