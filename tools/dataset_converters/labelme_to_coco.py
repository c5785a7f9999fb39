"""Convert LabelMe point annotations to a landmark set in the configs' layout.

Writes ``OUT_DIR/<SET>_coco_<SPLIT>_annotations.json`` and links (or copies)
the images into ``OUT_DIR/Images/``: the layout the configs read with
``data_root`` = ``OUT_DIR``. One run converts one split (``--split``,
default ``train``). A training run also draws a validation split,
``<SET>_coco_val_annotations.json``: 10 % of the files by default, or
``--val-fraction F`` / ``--val-count N`` of them, drawn with ``--seed``;
``--val-fraction 0`` writes no validation split. Run again with
``--split test`` (same ``OUT_DIR``) for the test files. The LabelMe format,
what is checked and what is written are described in
:mod:`mmpose_medsapiens.conversion.readers.labelme`, which does the work.

Usage:
    python tools/dataset_converters/labelme_to_coco.py INPUT [INPUT ...] \
        --out-dir OUT_DIR --set SET (--names a,b,c | --names-file NAMES.txt) \
        [--split {train,val,test}] [--val-fraction F | --val-count N] [--seed S] \
        [--category NAME] [--img-root DIR] [--spacing SX [SY]] [--on-error {stop,skip}] \
        [--ground-truth {single,mean}] [--images {symlink,copy}] [--overwrite]

``INPUT`` is a LabelMe JSON file or a folder of them; with ``--ground-truth
mean`` one folder per annotator (files matched by name). Problems (unknown or
repeated labels, unresolvable images...) are all reported per file and
landmark; ``--on-error skip`` leaves those files out and lists them. A label
used twice is never resolved by guessing which occurrence is right.
"""
import argparse

from mmpose_medsapiens.conversion.command_line import (add_output_arguments,
                                                       add_validation_draw_arguments,
                                                       run_conversion)
from mmpose_medsapiens.conversion.readers.labelme import (convert_labelme, labelme_summary,
                                                          read_names)
from mmpose_medsapiens.conversion.release_layout import RELEASE_SPLITS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('inputs', nargs='+', help='LabelMe JSON files or folders of them')
    parser.add_argument('--out-dir', required=True,
                        help='data root to write: <set>_coco_<split>_annotations.json, Images/')
    parser.add_argument('--set', required=True, dest='set_name',
                        help='file prefix the config reads (head, hand, chest, leg, teeth...)')
    parser.add_argument('--split', choices=RELEASE_SPLITS, default='train',
                        help='the split these files form (default: train)')
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument('--names', help='landmark names in order, comma-separated')
    group.add_argument('--names-file', help='text file with one landmark name per line')
    add_validation_draw_arguments(parser, 'the training files')
    add_output_arguments(parser)
    parser.add_argument('--category', default='landmarks', help='category name')
    parser.add_argument('--img-root', default=None,
                        help='where to look for <JSON stem>.<ext> when imagePath does not '
                        'resolve')
    parser.add_argument('--spacing', type=float, nargs='+', default=None, metavar='S',
                        help='pixel spacing stored on every image: S or SX SY')
    parser.add_argument('--on-error', choices=('stop', 'skip'), default='stop',
                        help='stop on any problem (default) or leave out the files that have one')
    parser.add_argument('--ground-truth', choices=('single', 'mean'), default='single',
                        help='mean: the mean of the annotator folders given as inputs')
    args = parser.parse_args(argv)
    if args.spacing is not None and len(args.spacing) > 2:
        parser.error('--spacing takes one or two values')
    return args


def main(argv=None):
    args = parse_args(argv)
    report = {}
    return run_conversion(
        lambda: convert_labelme(args.inputs, args.out_dir, args.set_name,
                                read_names(args.names, args.names_file), args.split,
                                args.category, args.img_root, args.spacing, args.overwrite,
                                args.on_error, args.ground_truth, args.val_fraction,
                                args.val_count, args.seed, args.images, report),
        lambda paths: labelme_summary(paths, report))


if __name__ == '__main__':
    main()
