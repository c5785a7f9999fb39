"""Convert the ISBI 2015 cephalometric challenge data to landmark COCO JSON.

The release layout, the checks and the files written (``head_coco_<split>``
and ``Images/``, the layout the head configs read) are described in
:mod:`mmpose_medsapiens.conversion.readers.isbi2015`, which does the work.

Usage:
    python tools/dataset_converters/isbi2015_to_coco.py ROOT OUT_DIR \
        [--ground-truth {senior,junior,mean}] [--test-split {test1,test2,test1+test2}] \
        [--val-split {train,test1,test2}] [--val-fraction F | --val-count N] [--seed S] \
        [--images {symlink,copy}] [--allow-incomplete] [--overwrite]
"""
import argparse
import sys

from mmpose_medsapiens.conversion.readers.isbi2015 import (GROUND_TRUTHS, TEST_SPLITS, VAL_SPLITS,
                                                           convert_isbi2015)
from mmpose_medsapiens.conversion.release_layout import (DEFAULT_VAL_FRACTION, IMAGE_MODES,
                                                         IMAGES_DIR, summary_lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='ISBI 2015 root (RawImage/, AnnotationsByMD/)')
    parser.add_argument('out_dir', help='data root to write: head_coco_<split>_annotations.json '
                        'and Images/')
    parser.add_argument('--ground-truth', choices=GROUND_TRUTHS, default='mean',
                        help='annotator whose landmarks are used (default: mean of both)')
    parser.add_argument('--test-split', choices=TEST_SPLITS, default='test1',
                        help='challenge split(s) written as head_coco_test (default: test1)')
    parser.add_argument('--val-split', choices=VAL_SPLITS, default='train',
                        help='train (default: a seeded draw from TrainingData) or a challenge '
                        'test split not used as test')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--val-fraction', type=float, default=None,
                       help='share of the TrainingData images drawn as validation (default: '
                       f'{DEFAULT_VAL_FRACTION:g})')
    group.add_argument('--val-count', type=int, default=None,
                       help='number of the TrainingData images drawn as validation')
    parser.add_argument('--seed', type=int, default=0, help='seed of the validation draw')
    parser.add_argument('--images', choices=IMAGE_MODES, default='symlink',
                        help=f'how images go into OUT_DIR/{IMAGES_DIR} (default: symlink)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing files')
    parser.add_argument('--allow-incomplete', action='store_true',
                        help='convert the images present instead of requiring all 400')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        paths = convert_isbi2015(args.root, args.out_dir, args.ground_truth, args.test_split,
                                 args.val_split, args.val_fraction, args.val_count, args.seed,
                                 args.images, args.allow_incomplete, args.overwrite)
    except (ValueError, OSError) as e:
        sys.exit(f'error: {e}')
    for line in summary_lines(paths):
        print(line)
    return paths


if __name__ == '__main__':
    main()
