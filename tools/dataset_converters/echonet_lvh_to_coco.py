"""Convert EchoNet-LVH (PLAX echo videos + measurement lines) to landmark COCO JSON.

The release layout, how the measurement lines become 4 landmarks and a
derived pixel spacing, the checks and the files written
(``echonet_lvh_coco_<split>`` and ``Images/<HashedFileName>_f<Frame>.png``)
are described in :mod:`mmpose_medsapiens.conversion.readers.echonet_lvh`,
which does the work. Videos without the three end-diastolic lines on one
frame are printed with the reason.

Usage:
    python tools/dataset_converters/echonet_lvh_to_coco.py ROOT OUT_DIR \
        [--calc-unit {cm,mm}] [--spacing-tolerance 0.05] [--overwrite]
"""
import argparse

from mmpose_medsapiens.conversion.command_line import add_output_arguments, run_conversion
from mmpose_medsapiens.conversion.readers.echonet_lvh import (CSV_NAME, MM_PER_UNIT,
                                                              convert_echonet_lvh,
                                                              echonet_lvh_summary)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help=f'EchoNet-LVH root ({CSV_NAME}, Batch1/ ... Batch4/)')
    parser.add_argument('out_dir', help='data root to write')
    parser.add_argument('--calc-unit', choices=sorted(MM_PER_UNIT), default='cm',
                        help='unit of CalcValue (default: cm)')
    parser.add_argument('--spacing-tolerance', type=float, default=0.05,
                        help='how far the three lines\' spacings may differ (default 0.05)')
    add_output_arguments(parser, with_images=False)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    paths, _ = run_conversion(
        lambda: convert_echonet_lvh(args.root, args.out_dir, args.calc_unit,
                                    args.spacing_tolerance, args.overwrite),
        lambda result: echonet_lvh_summary(*result))
    return paths


if __name__ == '__main__':
    main()
