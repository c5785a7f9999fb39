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

from mmpose_medsapiens.conversion.command_line import (add_output_arguments,
                                                       add_validation_draw_arguments,
                                                       run_conversion)
from mmpose_medsapiens.conversion.readers.payer_hand import (CV_SETS, IMAGE_EXTS,
                                                             convert_payer_hand, payer_hand_summary)


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
    add_validation_draw_arguments(parser, 'the training ids')
    add_output_arguments(parser)
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
    return run_conversion(
        lambda: convert_payer_hand(args.root, args.out_dir, args.images_dir, args.cv_set,
                                   args.split_dir, args.split_folders, args.csv,
                                   args.val_fraction, args.val_count, args.seed, args.image_ext,
                                   args.skip_missing_images, args.images, args.overwrite, report),
        lambda paths: payer_hand_summary(paths, report))


if __name__ == '__main__':
    main()
