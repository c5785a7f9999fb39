"""How a landmark set turns pixel errors into its protocol's numbers.

Every dataset class states its rule once, in ``calibration(img)``; the
dataset attaches the result to each sample, the metric applies it, and tools
that work without a dataloader (offline evaluation, the cache builder,
benchmarks) ask the dataset class for it instead of restating the rule.
"""
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np

#: SDR radii when a protocol states none (the ISBI 2015 cephalometric ones).
DEFAULT_SDR_RADII = (2.0, 2.5, 3.0, 4.0)


def spacing_xy(spacing: Union[float, Sequence[float]]) -> Tuple[float, float]:
    """A spacing given as one number or ``(x, y)`` as an ``(x, y)`` float pair.

    Raises:
        ValueError: Not one or two numbers.
    """
    values = np.asarray(spacing, dtype=np.float64).ravel()
    if values.size == 1:
        values = np.repeat(values, 2)
    if values.size != 2:
        raise ValueError(f'spacing must be a number or (x, y), got {spacing}')
    return float(values[0]), float(values[1])


@dataclass(frozen=True)
class Calibration:
    """The error rule of one image.

    ``PE = factor * ||(gt - pred) * spacing||`` in ``unit``, where ``factor``
    is 1, or with a ``normalize`` rule ``dict(pair=(i, j), distance=d)``,
    ``d / ||(gt_i - gt_j) * spacing||`` (errors rescaled per image so that
    ground-truth landmarks ``i`` and ``j`` lie ``d`` units apart).

    Args:
        spacing (tuple[float, float]): Size (x, y) of one pixel in ``unit``.
        unit (str): Unit of the errors (``'mm'``, ``'px@512'``...).
        normalize (dict, optional): The per-image normalisation rule.
        radii (tuple[float, ...]): The protocol's SDR radii in ``unit``.
        measurements (tuple[dict, ...]): The set's clinical measurements,
            resolved to landmark indices (see :mod:`.measurements`).
    """

    spacing: Tuple[float, float]
    unit: str = 'mm'
    normalize: Optional[dict] = None
    radii: Tuple[float, ...] = DEFAULT_SDR_RADII
    measurements: Tuple[dict, ...] = ()

    def __post_init__(self):
        spacing = spacing_xy(self.spacing)
        if not all(np.isfinite(spacing)) or min(spacing) <= 0:
            raise ValueError(f'invalid pixel spacing {spacing}')
        radii = tuple(float(r) for r in self.radii)
        if not radii or min(radii) <= 0:
            raise ValueError(f'SDR radii must be positive, got {self.radii}')
        if self.normalize is not None:
            if set(self.normalize) != {'pair', 'distance'} or len(self.normalize['pair']) != 2 \
                    or not self.normalize['distance'] > 0:
                raise ValueError('normalize must be dict(pair=(i, j), distance=d > 0), got '
                                 f'{self.normalize}')
            object.__setattr__(self, 'normalize', dict(
                pair=tuple(int(i) for i in self.normalize['pair']),
                distance=float(self.normalize['distance'])))
        object.__setattr__(self, 'spacing', spacing)
        object.__setattr__(self, 'radii', radii)
        object.__setattr__(self, 'measurements', tuple(dict(m) for m in self.measurements))

    def as_dict(self) -> dict:
        """The plain dict samples carry (``PackPoseInputs`` meta, dumps)."""
        return dict(spacing=self.spacing, unit=self.unit,
                    normalize=None if self.normalize is None else dict(self.normalize),
                    radii=self.radii, measurements=tuple(dict(m) for m in self.measurements))


def normalisation_factor(gt: np.ndarray, calibration: dict) -> float:
    """The per-image scale of physical distances under a calibration dict.

    1 without a ``normalize`` rule; with ``dict(pair=(i, j), distance=d)``,
    ``d / ||(gt_i - gt_j) * spacing||``.

    Args:
        gt (np.ndarray): Ground-truth landmarks (K, 2) in original pixels.
        calibration (dict): ``spacing`` (x, y) and optional ``normalize``.

    Raises:
        ValueError: The two normalisation landmarks coincide.
    """
    rule = calibration.get('normalize')
    if not rule:
        return 1.0
    i, j = rule['pair']
    spacing = np.asarray(calibration['spacing'], dtype=np.float64)
    ref = np.linalg.norm((np.asarray(gt[i], np.float64) - gt[j]) * spacing)
    if ref <= 0:
        raise ValueError(f'normalisation landmarks {i} and {j} coincide')
    return float(rule['distance'] / ref)
