"""Convert the Digital Hand Atlas with Payer et al.'s 37 landmarks to COCO JSON.

Payer's setup (``setup/all.csv`` and the split folders), copies split into
image folders, the validation draw, the handling of ids without an image and
the files written (``hand_coco_<split>`` and ``Images/``, the layout the
hand configs read) are described in
:mod:`mmpose_medsapiens.conversion.readers.payer_hand`, which does the work.
Ids left out for lack of an image are printed (the first ten per split).

Usage:
    python tools/dataset_converters/payer_hand_to_coco.py ROOT OUT_DIR \
        [--images-dir DIR] [--csv FILE] [--cv-set {1,2,3}] [--split-dir cv] \
        [--split-folders train=DIR [val=DIR] test=DIR] [--val-fraction F | --val-count N] \
        [--seed S] [--skip-missing-images] [--image-ext {auto,jpg,mha}] \
        [--images {symlink,copy}] [--overwrite]
"""
import argparse
import sys

from mmpose_medsapiens.conversion.readers.payer_hand import (CV_SETS, IMAGE_EXTS,
                                                             convert_payer_hand, payer_hand_summary)
from mmpose_medsapiens.conversion.release_layout import (DEFAULT_VAL_FRACTION, IMAGE_MODES,
                                                         IMAGES_DIR)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='folder holding setup/all.csv (and setup/cv/)')
    parser.add_argument('out_dir', help='data root to write: hand_coco_<split>_annotations.json '
                        'and Images/')
    parser.add_argument('--images-dir', default=None,
                        help='image folder for the split files (default: ROOT/images)')
    parser.add_argument('--csv', default=None, help='landmark table (default: ROOT/setup/all.csv)')
    parser.add_argument('--cv-set', type=int, choices=CV_SETS, default=1,
                        help="Payer's cross-validation set (default: 1)")
    parser.add_argument('--split-dir', default='cv',
                        help="split folder under ROOT/setup: cv (default), cv_reduced, "
                        "cv_rand/<n>/<k>")
    parser.add_argument('--split-folders', nargs='+', default=None, metavar='SPLIT=DIR',
                        help='instead of split files: train=DIR [val=DIR] test=DIR, each split '
                        'being the images of its folder')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--val-fraction', type=float, default=None,
                       help='share of the training ids drawn as validation (default: '
                       f'{DEFAULT_VAL_FRACTION:g})')
    group.add_argument('--val-count', type=int, default=None,
                       help='number of the training ids drawn as validation')
    parser.add_argument('--seed', type=int, default=0, help='seed of the validation draw')
    parser.add_argument('--images', choices=IMAGE_MODES, default='symlink',
                        help=f'how images go into OUT_DIR/{IMAGES_DIR} (default: symlink)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing files')
    parser.add_argument('--skip-missing-images', action='store_true',
                        help='leave out (and list) split ids without an image instead of stopping')
    parser.add_argument('--image-ext', choices=('auto', ) + IMAGE_EXTS, default='auto',
                        help='image file type (default: whichever exists)')
    args = parser.parse_args(argv)
    if args.split_folders is not None:
        pairs = [item.partition('=') for item in args.split_folders]
        bad = [a for a, eq, b in pairs if not eq or not b]
        if bad:
            parser.error(f'--split-folders takes SPLIT=DIR items, got {bad}')
        args.split_folders = {a: b for a, _, b in pairs}
    return args


def main(argv=None):
    args = parse_args(argv)
    report = {}
    try:
        paths = convert_payer_hand(args.root, args.out_dir, args.images_dir, args.cv_set,
                                   args.split_dir, args.split_folders, args.csv,
                                   args.val_fraction, args.val_count, args.seed, args.image_ext,
                                   args.skip_missing_images, args.images, args.overwrite, report)
    except (ValueError, OSError) as e:
        sys.exit(f'error: {e}')
    for line in payer_hand_summary(paths, report):
        print(line)
    return paths


if __name__ == '__main__':
    main()
