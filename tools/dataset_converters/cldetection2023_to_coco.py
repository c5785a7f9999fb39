"""Convert the CL-Detection 2023 training release to landmark COCO JSON.

The release's padded image stack and ground-truth JSON, the checks, the
official baseline's split and the files written (``Images/<n>.png`` and
``cldetection2023_coco_<split>``) are described in
:mod:`mmpose_medsapiens.conversion.readers.cldetection2023`, which does the
work.

Usage:
    python tools/dataset_converters/cldetection2023_to_coco.py STACK_MHA GT_JSON OUT_DIR \
        [--val-count 50] [--test-count 50] [--seed 2023] [--overwrite]
"""
import argparse

from mmpose_medsapiens.conversion.command_line import add_output_arguments, run_conversion
from mmpose_medsapiens.conversion.readers.cldetection2023 import convert_cldetection2023


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('stack', help='train_stack.mha')
    parser.add_argument('ground_truth', help='train-gt.json')
    parser.add_argument('out_dir', help='data root to write')
    parser.add_argument('--val-count', type=int, default=50)
    parser.add_argument('--test-count', type=int, default=50)
    parser.add_argument('--seed', type=int, default=2023,
                        help="seed of the split (default: the official baseline's)")
    add_output_arguments(parser, with_images=False)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    return run_conversion(lambda: convert_cldetection2023(
        args.stack, args.ground_truth, args.out_dir, args.val_count, args.test_count, args.seed,
        args.overwrite))


if __name__ == '__main__':
    main()
