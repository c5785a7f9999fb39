"""Convert the Aariz cephalometric release to landmark COCO JSON.

The release layout, the checks and the files written (``aariz_coco_<split>``
and ``Images/``, with each image's spacing, machine and CVM stage) are
described in :mod:`mmpose_medsapiens.conversion.readers.aariz`, which does
the work.

Usage:
    python tools/dataset_converters/aariz_to_coco.py ROOT OUT_DIR \
        [--ground-truth {senior,junior,mean}] [--images {symlink,copy}] [--overwrite]
"""
import argparse

from mmpose_medsapiens.conversion.command_line import add_output_arguments, run_conversion
from mmpose_medsapiens.conversion.readers.aariz import GROUND_TRUTHS, MAPPING_CSV, convert_aariz


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help=f'Aariz release root ({MAPPING_CSV}, train/, valid/, test/)')
    parser.add_argument('out_dir', help='data root to write')
    parser.add_argument('--ground-truth', choices=GROUND_TRUTHS, default='mean',
                        help='annotator whose landmarks are used (default: mean of both)')
    add_output_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_conversion(lambda: convert_aariz(args.root, args.out_dir, args.ground_truth,
                                                args.images, args.overwrite))


if __name__ == '__main__':
    main()
