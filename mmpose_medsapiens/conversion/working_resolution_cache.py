"""Build a working-resolution copy of a landmark set for fast data loading.

Full-leg radiographs are ~2400 x 5600 16-bit PNGs that the top-down pipeline
shrinks ~5x to the model input anyway, so decoding and windowing the full
image every sample wastes most of the loading time. The cache written here
holds every image once, already windowed to 8 bits (the rule of
:class:`LoadMedicalImage`) and area-resampled to the smallest size that still
gives the model at least ``margin`` cached pixels per input pixel, with an
annotation file whose landmarks and pixel spacing follow the new size, so
physical errors are unchanged.

Resolution rule. The pipeline crops the whole-image box (``GetBBoxCenterScale``
``padding``), widens it to the input aspect ratio (``TopdownAffine``) and
maps it onto ``input_size = (w, h)``. That samples the image at
``d = min(w / (padding * W), h / (padding * H))`` input pixels per image
pixel (UDP's ``(w - 1) / (padding * W)`` is a little less, so the rule
covers it too). The cache keeps an isotropic scale ``s = min(1, margin * d)``
with sizes rounded up, ``W1 = ceil(s * W)`` and ``H1 = ceil(s * H)``, so
that a random zoom of up to ``margin`` (``RandomBBoxTransform``) still never
samples between cached pixels more finely than they exist. Images that are
already small enough keep their size (never upscaled) and are only
re-encoded.

Coordinate rule. With ``sx = W1 / W`` and ``sy = H1 / H`` the image is
resampled by ``cv2.INTER_AREA``, whose pixel ``i`` averages the original
area ``[i / sx, (i + 1) / sx)`` measured from the image's outer edge. The
pixel-centre coordinates used by the annotation files (pixel ``i`` is
centred on ``x = i``) therefore map as::

    x1 + 0.5 = (x + 0.5) * sx,    y1 + 0.5 = (y + 0.5) * sy

and the spacing as ``spacing1 = spacing / (sx, sy)``: the physical position
``(x + 0.5) * spacing`` (from the image's corner) and every physical
distance are preserved. Plain ``x1 = x * sx`` would move each landmark by
``(1 / sx - 1) / 2`` original pixels relative to the image content (~0.25 mm
on full-leg radiographs). A landmark that lands less than half a cached
pixel outside ``[0, W1 - 1]`` (possible only within ``(1 / sx - 1) / 2``
original pixels of the border) is clamped into the image, which the dataset
requires; the annotation file's record counts such landmarks.

Output layout (point the config's ``data_root`` at ``out_root``; the
``data_prefix`` and ``ann_file`` stay as they are)::

    out_root/<data_prefix>/<file_name with a .png extension>
    out_root/<ann_file relative to data_root>

Each image entry gains ``width``/``height`` of the cached image, an explicit
``spacing`` (so the leg set no longer needs ``leg_meta_json``),
``original_width``, ``original_height`` and ``cache_scale = [sx, sy]``
(relative to the original image); the file has a top-level
``working_resolution_cache`` record of the source and the settings.

Config level: :func:`build_cache` caches every dataset of a config's
dataloaders (combined datasets expanded into their sources, the geometry
read from each pipeline by :func:`pipeline_geometry`); the command line is
``tools/dataset_converters/build_working_resolution_cache.py``.
"""
import copy
import json
import math
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.config import Config
from mmpose.registry import DATASETS

from ..datasets import DatasetFormatError, MedicalLandmarkDataset
from ..fileio import WINDOW_PERCENTILES, read_medical_image
from ..utils.file_writing import ensure_new_files, write_atomically
from .coco_landmarks import write_coco

__all__ = ['build_working_resolution_cache', 'cache_source_dataset', 'working_resolution_size',
           'CACHE_RECORD_KEY', 'CACHE_SPLITS', 'build_cache', 'cache_summary_lines',
           'pipeline_geometry', 'split_datasets']

#: Top-level key of the cache's annotation file recording source and settings.
CACHE_RECORD_KEY = 'working_resolution_cache'


def working_resolution_size(width: int,
                            height: int,
                            input_size: Sequence[int],
                            margin: float = 1.25,
                            padding: float = 1.0) -> Tuple[int, int]:
    """Size of the cached image of a ``width`` x ``height`` original.

    Args:
        width (int): Original width in pixels.
        height (int): Original height in pixels.
        input_size (Sequence[int]): Model input ``(w, h)``.
        margin (float): Cached pixels per model input pixel to keep across
            the whole-image box, at least 1. Defaults to 1.25.
        padding (float): ``GetBBoxCenterScale`` padding of the pipeline.
            Defaults to 1.0.

    Returns:
        tuple[int, int]: ``(W1, H1)``, never larger than the original.
    """
    in_w, in_h = (float(v) for v in input_size)
    if min(in_w, in_h) <= 0 or min(width, height) <= 0:
        raise ValueError(f'sizes must be positive: image {width}x{height}, input {input_size}')
    if not margin >= 1.0:
        raise ValueError(f'margin must be >= 1 (a smaller one upsamples in training), got '
                         f'{margin}')
    if not padding > 0:
        raise ValueError(f'padding must be > 0, got {padding}')
    # Input pixels per image pixel once TopdownAffine has fixed the aspect ratio.
    density = min(in_w / (padding * width), in_h / (padding * height))
    scale = margin * density
    if scale >= 1.0:
        return int(width), int(height)
    # Rounding up keeps at least the target resolution on both axes; the small
    # tolerance stops an exact product from rounding up by float noise.
    return (min(int(width), max(1, math.ceil(width * scale - 1e-9))),
            min(int(height), max(1, math.ceil(height * scale - 1e-9))))


def build_working_resolution_cache(dataset: Union[MedicalLandmarkDataset, dict],
                                   out_root: str,
                                   input_size: Sequence[int],
                                   margin: float = 1.25,
                                   padding: float = 1.0,
                                   overwrite: bool = False,
                                   written: Optional[Dict[str, str]] = None) -> dict:
    """Write the working-resolution images and annotation file of a dataset.

    Every image of the dataset's annotation file is cached (also those a
    ``num_shots`` selection leaves out: the cached file selects the same
    ones). Nothing is written when an output exists (unless ``overwrite``),
    when ``out_root`` is the data root or lies inside it, or when an output
    would replace a source file; if an image fails mid-way, the images this
    call created are removed again. Errors name the annotation file and the
    image id.

    Args:
        dataset (MedicalLandmarkDataset | dict): A built dataset, or its
            config (``type``, ``ann_file``, ``data_root``, ...), built through
            MMPose's ``DATASETS`` without a pipeline.
        out_root (str): Root of the cache (the new ``data_root``).
        input_size (Sequence[int]): Model input ``(w, h)`` of ``TopdownAffine``.
        margin (float): Cached pixels per model input pixel to keep across
            the whole-image box. The default 1.25 covers the recipe's random
            zoom (box scale down to 0.9) with room to spare.
        padding (float): ``GetBBoxCenterScale`` padding. Defaults to 1.0.
        overwrite (bool): Replace existing output files. Defaults to False.
        written (dict, optional): Output image path -> source image path of
            images already written in this run (e.g. by another split that
            shares images); they are reused, and this call adds its own.

    Returns:
        dict: ``ann_file`` (written), ``source_ann_file``, ``num_images``,
        ``num_written``, ``num_downscaled``, ``scale_min``, ``scale_max``,
        ``sizes`` (distinct cached ``(W1, H1)``, at most 5), ``clamped_keypoints``
        and ``seconds``.
    """
    start = time.perf_counter()
    dataset = cache_source_dataset(dataset)
    written = {} if written is None else written
    ann_file = osp.abspath(dataset.ann_file)
    src_root = osp.realpath(dataset.data_root or osp.dirname(ann_file))
    out_root_real = osp.realpath(out_root)
    if out_root_real == src_root or out_root_real.startswith(src_root + os.sep):
        raise ValueError(f'Refusing to write the cache into the source data root {src_root} '
                         f'(out_root {out_root}); choose a folder outside it')
    # Validates the whole file (ids, keypoints, spacing...) as training would.
    if not getattr(dataset, '_fully_initialized', True):
        dataset.full_init()
    # The raw records, not the parsed samples: the cache rewrites the file
    # itself (every key the user wrote is kept), only sizes, spacing and
    # coordinates change. Their checks are the dataset's, run just above.
    with open(ann_file, encoding='utf-8') as f:
        coco = json.load(f)

    def fail(img_id, message, exc=DatasetFormatError):
        return exc(f'{ann_file}, image id {img_id}: {message}')

    # ------------------------------------------------------------ plan paths
    img_prefix = osp.realpath(dataset.data_prefix.get('img', '') or src_root)
    prefix_rel = osp.relpath(img_prefix, src_root)
    if prefix_rel.split(os.sep)[0] == '..':
        raise ValueError(f'{ann_file}: the image folder {img_prefix} is outside the data root '
                         f'{src_root}; give the dataset a data_root that holds its images')
    ann_rel = osp.relpath(ann_file, src_root)
    if ann_rel.split(os.sep)[0] == '..':
        ann_rel = osp.basename(ann_file)
    ann_out = osp.join(out_root_real, ann_rel)

    plans, targets = [], {}
    for img in coco['images']:
        name = img['file_name']
        if osp.isabs(name):
            raise fail(img['id'], f'file_name {name} is absolute; the cache needs names '
                       'relative to the data root', ValueError)
        new_name = osp.splitext(name)[0] + '.png'
        src = osp.realpath(osp.join(img_prefix, name))
        dst = osp.normpath(osp.join(out_root_real, prefix_rel, new_name))
        if not dst.startswith(out_root_real + os.sep):
            raise fail(img['id'], f'file_name {name} leads outside {out_root}', ValueError)
        if targets.get(dst, src) != src:
            raise fail(img['id'], f'{name} and {targets[dst]} would both be cached as {dst}',
                       ValueError)
        targets[dst] = src
        plans.append((img, src, dst, new_name))

    sources = {ann_file} | set(targets.values())
    for path in list(targets) + [ann_out]:
        if osp.realpath(path) in sources:
            raise ValueError(f'Refusing to replace the source file {path} with its cache')
    ensure_new_files([p for p in targets if p not in written] + [ann_out], overwrite)

    # ---------------------------------------------------- write images, JSON
    created, images, factors = [], [], {}
    num_written = num_downscaled = 0
    try:
        for img, src, dst, new_name in plans:
            img_id = img['id']
            width, height = int(img['width']), int(img['height'])
            size = working_resolution_size(width, height, input_size, margin, padding)
            if dst in written:
                if written[dst] != src:
                    raise fail(img_id, f'{dst} was already cached from {written[dst]}',
                               ValueError)
            else:
                existed = osp.lexists(dst)
                _cache_image(src, dst, (width, height), size, lambda m: fail(img_id, m))
                if not existed:
                    created.append(dst)
                written[dst] = src
                num_written += 1
            num_downscaled += size != (width, height)
            sx, sy = size[0] / width, size[1] / height
            factors[img_id] = (sx, sy, size)
            # The dataset's own rule (meta file, class default, px@512...).
            spacing = dataset.calibration(img).spacing
            entry = dict(img, file_name=new_name, width=size[0], height=size[1],
                         spacing=[spacing[0] / sx, spacing[1] / sy])
            # A cache of a cache still refers to the released original.
            orig_w = int(img.get('original_width', width))
            orig_h = int(img.get('original_height', height))
            entry.update(original_width=orig_w, original_height=orig_h,
                         cache_scale=[size[0] / orig_w, size[1] / orig_h])
            images.append(entry)

        annotations, clamped = [], 0
        for ann in coco['annotations']:
            sx, sy, (w1, h1) = factors[ann['image_id']]
            ann = copy.deepcopy(ann)
            kpts = np.asarray(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
            labelled = kpts[:, 2] > 0
            # (x + 0.5) * s - 0.5, written so that s == 1 keeps x bit-exact.
            scale = np.array([sx, sy])
            xy = kpts[labelled, :2] * scale + 0.5 * (scale - 1.0)
            inside = np.clip(xy, 0.0, (w1 - 1, h1 - 1))
            clamped += int((np.abs(inside - xy) > 1e-9).any(axis=1).sum())
            kpts[labelled, :2] = inside
            ann['keypoints'] = [float(v) if i % 3 < 2 else ann['keypoints'][i]
                                for i, v in enumerate(kpts.ravel())]
            if 'bbox' in ann:
                x, y, w, h = ann['bbox']
                ann['bbox'] = [x * sx, y * sy, w * sx, h * sy]
            if 'area' in ann:
                ann['area'] = ann['area'] * sx * sy
            annotations.append(ann)

        out = dict(coco, images=images, annotations=annotations)
        out[CACHE_RECORD_KEY] = dict(
            source_ann_file=ann_file,
            source_data_root=src_root,
            dataset_type=type(dataset).__name__,
            input_size=[int(v) for v in input_size],
            margin=float(margin),
            padding=float(padding),
            resize='cv2.INTER_AREA after windowing to 8 bits',
            windowing=f'16-bit and other depths: percentiles {list(WINDOW_PERCENTILES)} '
            '-> [0, 255] (LoadMedicalImage); 8-bit kept',
            coordinates='x1 + 0.5 = (x + 0.5) * sx, y1 + 0.5 = (y + 0.5) * sy; '
            'spacing1 = spacing / (sx, sy)',
            clamped_keypoints=clamped,
            previous=coco.get(CACHE_RECORD_KEY))
        write_coco(out, ann_out, overwrite=overwrite)
    except BaseException:
        # Leave no half-built cache behind (only files this call created).
        for path in created:
            if osp.lexists(path):
                os.remove(path)
            written.pop(path, None)
        raise

    scales = [v for sx, sy, _ in factors.values() for v in (sx, sy)]
    sizes = sorted({size for _, _, size in factors.values()})
    return dict(ann_file=ann_out, source_ann_file=ann_file, num_images=len(images),
                num_written=num_written, num_downscaled=num_downscaled,
                scale_min=min(scales), scale_max=max(scales), sizes=sizes[:5],
                clamped_keypoints=clamped, seconds=time.perf_counter() - start)


# ------------------------------------------------------------------ helpers
def cache_source_dataset(dataset: Union[MedicalLandmarkDataset, dict]) -> MedicalLandmarkDataset:
    """The dataset a cache is built from: built without pipeline or few-shot pick.

    Args:
        dataset (MedicalLandmarkDataset | dict): A built dataset (returned as
            it is) or its config; ``num_shots`` is dropped because the cache
            covers the whole annotation file.

    Returns:
        MedicalLandmarkDataset: The dataset.
    """
    if isinstance(dataset, dict):
        if 'datasets' in dataset:
            raise TypeError('a combined dataset config: cache each of its "datasets" in turn')
        cfg = dict(dataset, pipeline=[])
        cfg.pop('num_shots', None)  # the cache covers the whole file
        dataset = DATASETS.build(cfg)
    if not isinstance(dataset, MedicalLandmarkDataset):
        raise TypeError(f'expected a MedicalLandmarkDataset (or its config), got '
                        f'{type(dataset).__name__}')
    return dataset


# Config level: what ``tools/dataset_converters/build_working_resolution_cache.py``
# caches. MMPose's defaults when a transform gives no value:
_DEFAULT_PADDING = 1.25
_DEFAULT_SCALE_FACTOR = (0.5, 1.5)
#: Dataloaders a config's cache can cover.
CACHE_SPLITS = ('train', 'val', 'test')


def pipeline_geometry(cfg: Config, pipeline) -> dict:
    """Input size, box padding and largest random zoom of a pipeline.

    Args:
        cfg (Config): The config (``codec.input_size`` is the fallback).
        pipeline (list[dict] | None): The dataset's pipeline.

    Returns:
        dict: ``input_size`` (w, h), ``padding`` and ``max_zoom``.
    """
    steps = {t.get('type'): t for t in (pipeline or []) if isinstance(t, dict)}
    if 'TopdownAffine' in steps:
        input_size = steps['TopdownAffine']['input_size']
    elif cfg.get('codec') and 'input_size' in cfg.codec:
        input_size = cfg.codec['input_size']
    else:
        raise ValueError('cannot find the model input size: no TopdownAffine in the pipeline '
                         'and no codec.input_size in the config')
    # No box step means the whole image; 1.0 is also the safe (larger) choice.
    padding = steps.get('GetBBoxCenterScale', {}).get(
        'padding', _DEFAULT_PADDING if 'GetBBoxCenterScale' in steps else 1.0)
    max_zoom = 1.0
    if 'RandomBBoxTransform' in steps:
        scale_factor = steps['RandomBBoxTransform'].get('scale_factor', _DEFAULT_SCALE_FACTOR)
        max_zoom = 1.0 / float(scale_factor[0])
    return dict(input_size=tuple(int(v) for v in input_size), padding=float(padding),
                max_zoom=max_zoom)


def split_datasets(dataset_cfg: dict, key: str):
    """Landmark dataset configs inside a split's dataset config.

    Args:
        dataset_cfg (dict): ``<split>_dataloader.dataset``.
        key (str): Its dotted config key.

    Yields:
        tuple[dict, str]: Each source dataset config and its dotted key.
    """
    if 'datasets' in dataset_cfg:  # combined (e.g. the generalist mix)
        for i, sub in enumerate(dataset_cfg['datasets']):
            yield from split_datasets(sub, f'{key}.datasets.{i}')
    elif 'dataset' in dataset_cfg:  # repeat / balance wrappers
        yield from split_datasets(dataset_cfg['dataset'], f'{key}.dataset')
    else:
        yield dataset_cfg, key


def build_cache(cfg: Config, out_root: str, splits=CACHE_SPLITS, margin: float = 1.25,
                overwrite: bool = False) -> dict:
    """Cache every dataset of the given splits of a config.

    Combined datasets (such as the generalist mix) and dataset wrappers are
    expanded into their sources; each source is cached with its split's
    pipeline geometry (see :func:`pipeline_geometry`). A train pipeline that
    zooms in more than ``margin`` is warned about on stdout, before the work.

    Args:
        cfg (Config): The training config.
        out_root (str): Root of the cache.
        splits (Sequence[str]): Dataloaders to cache (``train``, ``val``,
            ``test``). Defaults to all three.
        margin (float): Cached pixels per model input pixel. Defaults to 1.25.
        overwrite (bool): Replace existing files. Defaults to False.

    Returns:
        dict: Split -> list of ``(config key, summary)`` of its datasets
        (see :func:`build_working_resolution_cache`); a source shared by
        several splits is cached once.
    """
    written, done, results = {}, {}, {}
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader or 'dataset' not in loader:
            raise ValueError(f'the config has no {split}_dataloader.dataset')
        top = loader['dataset']
        geometry = pipeline_geometry(cfg, top.get('pipeline'))
        if split == 'train' and geometry['max_zoom'] > margin + 1e-9:
            print(f'warning: the train pipeline zooms in up to {geometry["max_zoom"]:.3g}x '
                  f'(RandomBBoxTransform) but --margin is {margin:g}: such samples upsample '
                  f'the cache; use --margin {geometry["max_zoom"]:.3g} or more', flush=True)
        results[split] = []
        for ds_cfg, key in split_datasets(top, f'{split}_dataloader.dataset'):
            ds_cfg = dict(ds_cfg)
            # A source's own pipeline (rare) decides its geometry.
            geo = pipeline_geometry(cfg, ds_cfg['pipeline']) if ds_cfg.get('pipeline') \
                else geometry
            dataset = cache_source_dataset(ds_cfg)
            ident = (type(dataset).__name__, osp.realpath(dataset.ann_file), geo['input_size'],
                     geo['padding'])
            if ident not in done:
                done[ident] = build_working_resolution_cache(
                    dataset, out_root, geo['input_size'], margin=margin,
                    padding=geo['padding'], overwrite=overwrite, written=written)
            results[split].append((key, done[ident]))
    return results


def cache_summary_lines(results: dict, out_root: str) -> List[str]:
    """What the cache tool prints: each dataset cached, then how to use the cache.

    Args:
        results (dict): What :func:`build_cache` returned.
        out_root (str): Root of the cache.

    Returns:
        list[str]: One line per cached dataset (and a note when landmarks were
        clamped), then the ``--cfg-options`` that point the config at the cache.
    """
    lines, keys = [], []
    for split, entries in results.items():
        for key, s in entries:
            sizes = ', '.join(f'{w}x{h}' for w, h in s['sizes'])
            lines.append(
                f'{split}: {s["num_images"]} images, {s["num_downscaled"]} downscaled, scale '
                f'{s["scale_min"]:.4f}-{s["scale_max"]:.4f} (cached sizes {sizes}'
                f'{", ..." if len(s["sizes"]) == 5 else ""}), {s["num_written"]} written in '
                f'{s["seconds"]:.1f} s -> {s["ann_file"]}')
            if s['clamped_keypoints']:
                lines.append(f'  note: {s["clamped_keypoints"]} landmark(s) within half a cached '
                             'pixel of the border were moved onto the image')
            keys.append(key)
    root = osp.join(osp.abspath(out_root), '')
    lines.append(f'\nTo train and evaluate on the cache, set data_root = {root!r} for these '
                 'datasets (data_prefix and ann_file stay as they are), e.g.:\n  --cfg-options '
                 + ' '.join(f'{key}.data_root={root}' for key in keys))
    return lines


def _cache_image(src: str, dst: str, size: Tuple[int, int], new_size: Tuple[int, int],
                 fail) -> None:
    """Window, resize and write one image as an 8-bit PNG, atomically."""
    try:
        img = read_medical_image(src)
    except (OSError, ValueError) as e:
        raise fail(f'{e}') from e
    if (img.shape[1], img.shape[0]) != size:
        raise fail(f'{src} is {img.shape[1]}x{img.shape[0]} but the annotation file says '
                   f'{size[0]}x{size[1]}; keypoints would be rescaled wrongly')
    # Grayscale radiographs were replicated to BGR by the reader; one channel
    # is a third of the work to resize and decode (the loader replicates it).
    if (img[..., 0] == img[..., 1]).all() and (img[..., 0] == img[..., 2]).all():
        img = img[..., 0]
    if new_size != size:
        img = cv2.resize(img, new_size, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode('.png', img)
    if not ok:
        raise fail(f'cannot encode the cached image {dst}')
    # Existing outputs were vetted by ensure_new_files before any was written.
    write_atomically(dst, lambda f: f.write(buf.tobytes()), overwrite=True, binary=True)
