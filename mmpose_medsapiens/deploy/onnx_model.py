"""ONNX export of a decoded landmark model, and running it with onnxruntime.

The file maps ``image`` ``(N, 3, H, W)`` float32 (BGR, 0-255, the test
pipeline's crop) to ``keypoints`` ``(N, K, 2)`` in input pixels, ``scores``
``(N, K)`` and ``spread`` ``(N, K)`` (heatmap pixels, the uncertainty signal).
Its metadata (key ``mmpose_medsapiens``, JSON) holds the input and heatmap
sizes, the landmark names, whether the flip test is inside and the model's
fingerprint, so a file is checked before anything runs.
"""
import contextlib
import json
import os
import os.path as osp
import tempfile

import numpy as np
import torch
import torch.nn as nn

from .decoded_model import DecodedLandmarkModel, model_fingerprint

METADATA_KEY = 'mmpose_medsapiens'
FORMAT_VERSION = 1
OUTPUTS = ('keypoints', 'scores', 'spread')


def to_image_coordinates(keypoints, center, scale, input_size):
    """Landmarks in input pixels to pixels of the original image.

    The inverse of ``TopdownAffine`` without rotation, as
    ``TopdownPoseEstimator`` applies it: ``x / input_w * scale_w + center_x -
    scale_w / 2`` (and the same in y).

    Args:
        keypoints (np.ndarray): ``(..., K, 2)`` in input pixels.
        center (Sequence[float]): The box centre ``input_center`` (x, y).
        scale (Sequence[float]): The box size ``input_scale`` (w, h).
        input_size (Sequence[int]): Model input size (w, h).
    """
    center, scale = np.asarray(center, np.float64), np.asarray(scale, np.float64)
    return np.asarray(keypoints) / np.asarray(input_size, np.float64) * scale + center - 0.5 * scale


def export_onnx(model: nn.Module, path: str, flip_indices, keypoint_names,
                opset: int = 17) -> dict:
    """Export ``model`` with its flip test and decoding to ``path``.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` (LoRA merged or not).
        path (str): Output file; written through a temporary file, so a
            failed export leaves nothing behind.
        flip_indices (Sequence[int]): The dataset's flip indices.
        keypoint_names (Sequence[str]): Landmark names in channel order.
        opset (int): ONNX opset.

    A backbone with an ``onnx_export_mode()`` (Sapiens2: fp32 RoPE and
    RMSNorm as elementary ops, which ONNX runtimes run) is exported inside
    it; the metadata says so.

    Returns:
        dict: The metadata written into the file.
    """
    import onnx

    decoded = DecodedLandmarkModel(model.eval(), flip_indices).eval()
    width, height = decoded.input_size
    metadata = dict(format=FORMAT_VERSION, input_size=[width, height],
                    heatmap_size=list(decoded.heatmap_size),
                    keypoint_names=list(keypoint_names), flip_test=decoded.flip_test,
                    fingerprint=model_fingerprint(model))
    export_mode = getattr(model.backbone, 'onnx_export_mode', None)
    if export_mode is not None:
        metadata['backbone_export_mode'] = True
    if len(metadata['keypoint_names']) != model.head.out_channels:
        raise ValueError(f'{len(keypoint_names)} landmark names for a head with '
                         f'{model.head.out_channels} channels')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.onnx', dir=folder)
    os.close(fd)
    try:
        dummy = torch.zeros(1, 3, height, width, device=decoded.mean.device)
        with torch.no_grad(), (export_mode() if export_mode else contextlib.nullcontext()):
            torch.onnx.export(
                decoded, (dummy, ), tmp, input_names=['image'],
                output_names=list(OUTPUTS), opset_version=opset,
                dynamic_axes={name: {0: 'batch'} for name in ('image', ) + OUTPUTS},
                dynamo=False)
        proto = onnx.load(tmp)
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, json.dumps(metadata)
        onnx.save(proto, tmp)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return metadata


class OnnxLandmarkModel:
    """An exported landmark model run by onnxruntime, checked on load and per call.

    Args:
        path (str): A file written by :func:`export_onnx`.
        num_threads (int, optional): onnxruntime's intra-op threads.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a readable ONNX model (broken, truncated)
            or lacks this package's metadata; the message names the file.
    """

    def __init__(self, path: str, num_threads=None):
        import onnxruntime as ort

        if not osp.isfile(path):
            raise FileNotFoundError(f'ONNX model {path} does not exist')
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
        try:
            self.session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types
            raise ValueError(f'{path} is not a readable ONNX model (broken or truncated '
                             f'file?): {type(e).__name__}: {e}') from None
        raw = self.session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
        if raw is None:
            raise ValueError(f'{path} has no {METADATA_KEY!r} metadata: export the model '
                             'with tools/deploy/export_onnx.py')
        self.path = path
        self.metadata = json.loads(raw)
        if self.metadata.get('format') != FORMAT_VERSION:
            raise ValueError(f'{path}: metadata format {self.metadata.get("format")}, '
                             f'this version reads {FORMAT_VERSION}')
        self.input_size = tuple(self.metadata['input_size'])
        self.heatmap_size = tuple(self.metadata['heatmap_size'])
        self.keypoint_names = list(self.metadata['keypoint_names'])
        self.fingerprint = self.metadata['fingerprint']

    def __call__(self, images: np.ndarray):
        """Landmarks of ``images`` ``(N, 3, H, W)`` (BGR, 0-255) in input pixels.

        Returns:
            tuple: ``keypoints`` ``(N, K, 2)``, ``scores`` and ``spread`` ``(N, K)``.
        """
        images = np.asarray(images, dtype=np.float32)
        width, height = self.input_size
        if images.ndim != 4 or images.shape[1:] != (3, height, width):
            raise ValueError(f'{self.path} takes images of shape (N, 3, {height}, {width}), '
                             f'got {images.shape}')
        return tuple(self.session.run(list(OUTPUTS), {'image': images}))
