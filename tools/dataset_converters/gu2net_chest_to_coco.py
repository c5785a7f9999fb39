"""Convert Shenzhen chest X-rays with GU2Net's 6 landmarks to COCO JSON.

GU2Net's label format, its image selection and split, and the files written
(``chest_coco_<split>`` and ``Images/``, the layout the chest configs read)
are described in :mod:`mmpose_medsapiens.conversion.readers.gu2net_chest`,
which does the work.

Usage:
    python tools/dataset_converters/gu2net_chest_to_coco.py ROOT OUT_DIR \
        [--images-dir DIR] [--labels-dir DIR] [--exclude NAME ...] \
        [--split-sizes 195 34 50] [--images {symlink,copy}] [--overwrite]
"""
import argparse

from mmpose_medsapiens.conversion.command_line import add_output_arguments, run_conversion
from mmpose_medsapiens.conversion.readers.gu2net_chest import (GU2NET_EXCLUDE, GU2NET_SPLIT_SIZES,
                                                               convert_gu2net_chest)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help="GU2Net's data/chest folder (pngs/, labels/)")
    parser.add_argument('out_dir', help='data root to write: chest_coco_<split>_annotations.json '
                        'and Images/')
    parser.add_argument('--images-dir', default=None, help='PNG folder (default: ROOT/pngs)')
    parser.add_argument('--labels-dir', default=None, help='label folder (default: ROOT/labels)')
    parser.add_argument('--exclude', nargs='*', default=list(GU2NET_EXCLUDE),
                        help="names to leave out (default: GU2Net's 9; give none to keep all)")
    parser.add_argument('--split-sizes', type=int, nargs=3, default=list(GU2NET_SPLIT_SIZES),
                        metavar=('TRAIN', 'VAL', 'TEST'),
                        help='image counts of the sorted split (default: 195 34 50)')
    # No validation draw: GU2Net's split has its own validation part.
    add_output_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_conversion(lambda: convert_gu2net_chest(
        args.root, args.out_dir, args.images_dir, args.labels_dir, args.exclude,
        args.split_sizes, args.images, args.overwrite))


if __name__ == '__main__':
    main()
