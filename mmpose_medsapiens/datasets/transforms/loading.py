"""Pipeline step that loads radiographs of any supported depth and format."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ...fileio import read_medical_image


@TRANSFORMS.register_module()
class LoadMedicalImage(BaseTransform):
    """Load an image with :func:`read_medical_image`, like MMPose's ``LoadImage``.

    A drop-in replacement for ``dict(type='LoadImage')`` that also reads
    16-bit PNG/TIFF (windowed to 8 bits by the documented percentile rule)
    and MetaImage, NRRD and NIfTI files (through SimpleITK). The image is always 3-channel
    BGR, as ``LoadImage`` with its default ``color_type='color'`` gives.

    As with ``LoadImage``, an image already present in ``results['img']``
    is kept and only its shapes are recorded.

    Required Keys:

        - img_path (unless ``img`` is given)

    Modified Keys:

        - img
        - img_shape
        - ori_shape

    Args:
        to_float32 (bool): Convert the image to float32 (values stay in
            [0, 255]). Defaults to False (uint8).
    """

    def __init__(self, to_float32: bool = False):
        self.to_float32 = to_float32

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']``.

        Args:
            results (dict): The result dict.

        Returns:
            dict: The result dict with ``img``, ``img_shape`` and
            ``ori_shape`` set.
        """
        if 'img' in results:
            img = results['img']
            assert isinstance(img, np.ndarray)
            results.setdefault('img_path', None)
        else:
            img = read_medical_image(results['img_path'])
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(to_float32={self.to_float32})'
