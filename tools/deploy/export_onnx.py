"""Export a trained landmark model to ONNX with its flip test and decoding.

The ONNX file maps a cropped image tensor to landmarks in input pixels plus
scores (see ``mmpose_medsapiens.deploy``); LoRA is merged first, so the graph
costs exactly a plain ViT. Run it with ``tools/infer.py --backend onnxruntime``.

Usage:
    python tools/deploy/export_onnx.py CONFIG CHECKPOINT OUT.onnx [--overwrite] \
        [--cfg-options K=V ...]
"""
import argparse
import os.path as osp

from mmengine.config import DictAction

# Registers the plugin, so that checkpoint loading is safe (weights-only) even for
# configs that forget custom_imports.
import mmpose_medsapiens  # noqa: F401
from mmpose_medsapiens.apis import init_landmark_model
from mmpose_medsapiens.deploy import export_onnx


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='the ONNX file to write')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing file')
    parser.add_argument('--opset', type=int, default=17)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    if osp.exists(args.out) and not args.overwrite:
        parser.error(f'{args.out} exists; pass --overwrite to replace it')
    return args


def main():
    args = parse_args()
    model = init_landmark_model(args.config, args.checkpoint, device='cpu',
                                cfg_options=args.cfg_options)
    if getattr(model.backbone, 'lora_cfg', None):
        model.backbone.merge_lora()
    meta = model.dataset_meta or {}
    names = meta.get('keypoint_id2name', {})
    num_keypoints = model.head.out_channels
    metadata = export_onnx(model, args.out, meta.get('flip_indices', list(range(num_keypoints))),
                           [names.get(k, str(k)) for k in range(num_keypoints)],
                           opset=args.opset)
    print(f'wrote {args.out}: {num_keypoints} landmarks, input {metadata["input_size"]} (w, h), '
          f'flip test {"in the graph" if metadata["flip_test"] else "off"}, '
          f'fingerprint {metadata["fingerprint"]}')


if __name__ == '__main__':
    main()
