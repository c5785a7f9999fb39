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

from mmpose_medsapiens.conversion.command_line import (add_output_arguments,
                                                       add_validation_draw_arguments,
                                                       run_conversion)
from mmpose_medsapiens.conversion.readers.isbi2015 import (GROUND_TRUTHS, TEST_SPLITS, VAL_SPLITS,
                                                           convert_isbi2015)


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
    add_validation_draw_arguments(parser, 'the TrainingData images')
    add_output_arguments(parser)
    parser.add_argument('--allow-incomplete', action='store_true',
                        help='convert the images present instead of requiring all 400')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_conversion(lambda: convert_isbi2015(
        args.root, args.out_dir, args.ground_truth, args.test_split, args.val_split,
        args.val_fraction, args.val_count, args.seed, args.images, args.allow_incomplete,
        args.overwrite))


if __name__ == '__main__':
    main()
