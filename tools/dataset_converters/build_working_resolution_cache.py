"""Build the working-resolution image cache of a config's landmark sets.

Reads the datasets of the config's ``<split>_dataloader`` (combined
datasets such as the generalist mix are expanded into their sources) and
the model input size (the pipeline's ``TopdownAffine`` ``input_size``, else
``codec.input_size``), then writes, for each split, every image once as an
8-bit PNG windowed like ``LoadMedicalImage`` and area-resampled to the
smallest size that keeps ``--margin`` cached pixels per input pixel across
the whole-image box, plus the annotation file with landmarks, sizes and an
explicit per-image ``spacing`` rescaled to match (physical errors are
unchanged). See :mod:`mmpose_medsapiens.conversion.working_resolution_cache`
for the exact rules.

Training then reads small 8-bit images instead of decoding full-size 16-bit
radiographs every sample: point the config's ``data_root`` at ``OUT_ROOT``
(the tool prints the ``--cfg-options`` that do it); ``data_prefix`` and
``ann_file`` stay as they are. ``LegXrayDataset`` no longer needs
``leg_meta_json`` for the cached set: the spacing is in the JSON.
Predictions on the cached val/test sets are in cached pixels; each image
entry's ``cache_scale`` maps them back (``x + 0.5 = (x1 + 0.5) / sx``).

Nothing is written into the source data root, and existing files are kept
unless ``--overwrite``. Keep ``--margin`` at least the pipeline's largest
random zoom (``1 / RandomBBoxTransform.scale_factor[0]``); the tool warns
otherwise.

Usage:
    python tools/dataset_converters/build_working_resolution_cache.py CONFIG OUT_ROOT \
        [--split train val test] [--margin 1.25] [--overwrite] \
        [--cfg-options KEY=VALUE ...]
"""
import argparse
import os
import os.path as osp
import runpy
import sys

# The tools' one bootstrap (tools/_bootstrap.py): repository root on sys.path,
# plugin registered; sub-folder scripts cannot import it by name.
runpy.run_path(osp.join(osp.dirname(osp.abspath(__file__)), os.pardir, '_bootstrap.py'))

import mmpose_medsapiens  # noqa: E402,F401  (registers the dataset classes)
from mmengine.config import Config, DictAction  # noqa: E402

from mmpose_medsapiens.conversion.working_resolution_cache import (  # noqa: E402
    build_working_resolution_cache, cache_source_dataset)

SPLITS = ('train', 'val', 'test')
# MMPose's defaults when a transform gives no value.
_DEFAULT_PADDING = 1.25
_DEFAULT_SCALE_FACTOR = (0.5, 1.5)


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


def build_cache(cfg: Config, out_root: str, splits=SPLITS, margin: float = 1.25,
                overwrite: bool = False) -> dict:
    """Cache every dataset of the given splits of a config.

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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='training config file')
    parser.add_argument('out_root', help='root folder of the cache (the new data_root)')
    parser.add_argument('--split', nargs='+', choices=SPLITS, default=list(SPLITS),
                        help='dataloaders to cache (default: train val test)')
    parser.add_argument('--margin', type=float, default=1.25,
                        help='cached pixels per model input pixel across the whole-image box '
                        '(default 1.25; >= the largest random zoom)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing cache files')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='override config settings, xxx=yyy pairs merged into the config')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        results = build_cache(cfg, args.out_root, args.split, args.margin, args.overwrite)
    except (ValueError, TypeError, OSError) as e:
        sys.exit(f'error: {e}')

    keys = []
    for split, entries in results.items():
        for key, s in entries:
            sizes = ', '.join(f'{w}x{h}' for w, h in s['sizes'])
            print(f'{split}: {s["num_images"]} images, {s["num_downscaled"]} downscaled, scale '
                  f'{s["scale_min"]:.4f}-{s["scale_max"]:.4f} (cached sizes {sizes}'
                  f'{", ..." if len(s["sizes"]) == 5 else ""}), {s["num_written"]} written in '
                  f'{s["seconds"]:.1f} s -> {s["ann_file"]}')
            if s['clamped_keypoints']:
                print(f'  note: {s["clamped_keypoints"]} landmark(s) within half a cached pixel '
                      'of the border were moved onto the image')
            keys.append(key)
    root = osp.join(osp.abspath(args.out_root), '')
    print(f'\nTo train and evaluate on the cache, set data_root = {root!r} for these datasets '
          '(data_prefix and ann_file stay as they are), e.g.:\n  --cfg-options ' +
          ' '.join(f'{key}.data_root={root}' for key in keys))
    return results


if __name__ == '__main__':
    main()
