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
(:func:`build_cache`) for the exact rules.

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

from mmengine.config import Config, DictAction

from mmpose_medsapiens.conversion.command_line import run_conversion
from mmpose_medsapiens.conversion.working_resolution_cache import (CACHE_SPLITS, build_cache,
                                                                   cache_summary_lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='training config file')
    parser.add_argument('out_root', help='root folder of the cache (the new data_root)')
    parser.add_argument('--split', nargs='+', choices=CACHE_SPLITS, default=list(CACHE_SPLITS),
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

    def build():
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        return build_cache(cfg, args.out_root, args.split, args.margin, args.overwrite)

    # TypeError: a config whose dataloaders the cache cannot follow.
    return run_conversion(build, lambda results: cache_summary_lines(results, args.out_root),
                          errors=(ValueError, TypeError, OSError))


if __name__ == '__main__':
    main()
