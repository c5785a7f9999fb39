"""Predict landmarks for an image or a folder of images.

Writes per image a JSON (landmark name, x, y in pixels, x_mm/y_mm when a
spacing is known (given, or stated by a DICOM/MetaImage header; the JSON's
``spacing_source`` says which), confidence) and an overlay PNG.

With ``--backend onnxruntime`` (the default for a ``.onnx`` checkpoint) the
model is a file from ``tools/deploy/export_onnx.py`` and PyTorch only reads and
crops the image.

Usage:
    python tools/infer.py IMAGE_OR_DIR --config C --checkpoint K [--spacing MM] \
        [--out-dir D] [--device cpu] [--backend auto|pytorch|onnxruntime] \
        [--uncertainty CALIBRATION.json]
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config
from mmengine.utils import ProgressBar

# Registers the plugin, so that checkpoint loading is safe (weights-only) even for
# configs that forget custom_imports.
import mmpose_medsapiens  # noqa: F401
from mmpose_medsapiens.apis import (infer_landmarks, infer_landmarks_onnx, init_landmark_model,
                                    write_prediction)
from mmpose_medsapiens.deploy import OnnxLandmarkModel
from mmpose_medsapiens.evaluation.functional import ConformalCalibration
from mmpose_medsapiens.fileio import IMAGE_SUFFIXES


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input', help='an image or a folder of images')
    parser.add_argument('--config', required=True)
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--spacing', type=float, nargs='+',
                        help='pixel spacing in mm: S or SX SY (default: the one a DICOM / '
                        'MetaImage header states, else none)')
    parser.add_argument('--out-dir', default='work_dirs/infer')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--backend', choices=('auto', 'pytorch', 'onnxruntime'), default='auto',
                        help='auto: onnxruntime for a .onnx checkpoint, else pytorch')
    parser.add_argument('--threads', type=int, help='onnxruntime intra-op threads')
    parser.add_argument('--uncertainty', help='a calibration from '
                        'tools/analysis/calibrate_uncertainty.py: write each landmark\'s '
                        'radius and whether its spread is outside what validation saw')
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


def build_predictor(args, spacing):
    """image path -> result dict for the chosen backend (errors name the file)."""
    uncertainty = None if args.uncertainty is None else ConformalCalibration.load(args.uncertainty)
    backend = args.backend
    if backend == 'auto':
        backend = 'onnxruntime' if args.checkpoint.endswith('.onnx') else 'pytorch'
    if backend == 'onnxruntime':
        model, cfg = OnnxLandmarkModel(args.checkpoint, args.threads), Config.fromfile(args.config)
        return lambda image: infer_landmarks_onnx(model, cfg, image, spacing, uncertainty)
    model = init_landmark_model(args.config, args.checkpoint, device=args.device)
    return lambda image: infer_landmarks(model, image, spacing, uncertainty)


def main():
    args = parse_args()
    images = list_images(args.input)
    spacing = None if args.spacing is None else (
        args.spacing[0] if len(args.spacing) == 1 else tuple(args.spacing[:2]))
    try:
        predict = build_predictor(args, spacing)
        progress = ProgressBar(len(images)) if len(images) > 1 else None
        for image in images:
            write_prediction(predict(image), args.out_dir)
            if progress:
                progress.update()
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}') from None
    print(f'\nwrote {len(images)} prediction(s) to {args.out_dir}')


if __name__ == '__main__':
    main()
