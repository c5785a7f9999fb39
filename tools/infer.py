"""Predict landmarks for an image or a folder of images.

Writes per image a JSON (landmark name, x, y in pixels, x_mm/y_mm when a
spacing is known (given, or stated by a DICOM/MetaImage header; the JSON's
``spacing_source`` says which), confidence) and an overlay PNG.

Usage:
    python tools/infer.py IMAGE_OR_DIR --config C --checkpoint K [--spacing MM] \
        [--out-dir D] [--device cpu]
"""
import argparse
import os
import os.path as osp

import _bootstrap  # noqa: F401  (repo root on sys.path, plugin registered)
from mmengine.utils import ProgressBar
from mmpose_medsapiens.apis import infer_landmarks, init_landmark_model, write_prediction
from mmpose_medsapiens.datasets.image_io import IMAGE_SUFFIXES



def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='an image or a folder of images')
    parser.add_argument('--config', required=True)
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--spacing', type=float, nargs='+', help='pixel spacing in mm: S or SX SY (default: the one a DICOM / MetaImage '
                        'header states, else none)')
    parser.add_argument('--out-dir', default='work_dirs/infer')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def list_images(path):
    if osp.isfile(path):
        return [path]
    if not osp.isdir(path):
        raise SystemExit(f'error: {path} is neither an image nor a folder')
    images = sorted(osp.join(path, f) for f in os.listdir(path)
                    if f.lower().endswith(IMAGE_SUFFIXES))
    if not images:
        raise SystemExit(f'error: no image ({", ".join(IMAGE_SUFFIXES)}) in {path}')
    return images


def main():
    args = parse_args()
    images = list_images(args.input)
    spacing = None if args.spacing is None else (
        args.spacing[0] if len(args.spacing) == 1 else tuple(args.spacing[:2]))
    model = init_landmark_model(args.config, args.checkpoint, device=args.device)
    progress = ProgressBar(len(images)) if len(images) > 1 else None
    for image in images:
        write_prediction(infer_landmarks(model, image, spacing), args.out_dir)
        if progress:
            progress.update()
    print(f'\nwrote {len(images)} prediction(s) to {args.out_dir}')


if __name__ == '__main__':
    main()
