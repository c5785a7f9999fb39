"""A top-down landmark model as one module: image tensor in, landmarks out."""
import hashlib

import torch
import torch.nn as nn

from ..evaluation.functional import heatmap_spread
from .udp_decoding import UDPHeatmapDecoder


def model_fingerprint(model: nn.Module) -> str:
    """A short hash of the head's last layer, the part every trained model owns.

    The head is trained in full (no LoRA), so the hash is the same for a
    model before and after merging LoRA, for its ONNX export and for an
    adapter-only checkpoint, and differs between trained models. Uncertainty
    calibrations and ONNX files carry it to be matched with the model.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with a heatmap head.
    """
    digest = hashlib.sha256()
    for tensor in model.head.final_layer.state_dict().values():
        digest.update(tensor.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


class DecodedLandmarkModel(nn.Module):
    """What ``TopdownPoseEstimator.predict`` computes, up to the input crop.

    Takes the cropped, affine-warped images as the test pipeline gives them
    (``(N, 3, H, W)`` float, BGR, 0-255) and returns the landmarks in input
    pixels ``(N, K, 2)``, their scores ``(N, K)`` and their heatmap spread
    ``(N, K)`` in heatmap pixels (the uncertainty signal of
    :mod:`mmpose_medsapiens.evaluation.functional.uncertainty`): the data
    preprocessor's channel order and normalisation, the backbone, neck and
    head, the flip test (mirrored heatmaps, channels swapped by
    ``flip_indices``, averaged) and the UDP decoding in one graph.
    :func:`mmpose_medsapiens.deploy.to_image_coordinates` maps the result back
    to the original image.

    Args:
        model (nn.Module): A ``TopdownPoseEstimator`` with a ``HeatmapHead``
            and a ``UDPHeatmap`` decoder, in eval mode.
        flip_indices (Sequence[int]): The dataset's flip indices.
    """

    def __init__(self, model: nn.Module, flip_indices):
        super().__init__()
        codec = getattr(model.head, 'decoder', None)
        if type(codec).__name__ != 'UDPHeatmap' or codec.heatmap_type != 'gaussian':
            raise ValueError('only the UDPHeatmap (gaussian) decoder is exported with the '
                             f'model, the config has {type(codec).__name__}')
        test_cfg = model.test_cfg or {}
        if test_cfg.get('flip_test', False) and (
                test_cfg.get('flip_mode', 'heatmap') != 'heatmap'
                or test_cfg.get('shift_heatmap', False)):
            raise ValueError('the exported flip test is flip_mode="heatmap" without '
                             f'shift_heatmap, the config has {dict(test_cfg)}')
        self.model = model
        self.flip_test = bool(test_cfg.get('flip_test', False))
        self.input_size = tuple(codec.input_size)
        self.heatmap_size = tuple(codec.heatmap_size)
        preprocessor = model.data_preprocessor
        self.bgr_to_rgb = bool(getattr(preprocessor, '_channel_conversion', False))
        self.register_buffer('mean', preprocessor.mean.detach().clone().view(1, -1, 1, 1))
        self.register_buffer('std', preprocessor.std.detach().clone().view(1, -1, 1, 1))
        # Everything this module creates lives where the wrapped model does.
        device = preprocessor.mean.device
        self.register_buffer('flip_indices',
                             torch.as_tensor(list(flip_indices), dtype=torch.long, device=device))
        self.decoder = UDPHeatmapDecoder(codec.input_size, codec.heatmap_size,
                                         codec.blur_kernel_size).to(device)

    def heatmaps(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.bgr_to_rgb:
            inputs = inputs[:, [2, 1, 0]]
        inputs = (inputs - self.mean) / self.std
        heatmaps = self.model.head(self.model.extract_feat(inputs))
        if self.flip_test:
            flipped = self.model.head(self.model.extract_feat(inputs.flip(-1)))
            flipped = flipped.flip(-1).index_select(1, self.flip_indices)
            heatmaps = (heatmaps + flipped) * 0.5
        return heatmaps

    def forward(self, inputs: torch.Tensor):
        heatmaps = self.heatmaps(inputs)
        keypoints, scores = self.decoder(heatmaps)
        return keypoints, scores, heatmap_spread(heatmaps)
