"""Per-landmark uncertainty from heatmaps, calibrated by split conformal prediction.

The raw signal is the *spread* of a landmark's heatmap around its peak: the
root mean squared distance from the peak, weighted by the positive heatmap
within ``radius`` heatmap pixels, converted to original-image pixels. A sharp
single peak reads about the codec's sigma, a wide or split one more.

The signal becomes a radius with a stated coverage by normalised split
conformal prediction (Lei et al., 2018; Angelopoulos & Bates, 2021): on the
validation split, per landmark, the score ``s = error / spread`` (both in
image pixels, so the score has no unit and one calibration serves images of
any spacing) and ``q`` its ``ceil((n + 1) * coverage)``-th smallest value.
On a new image ``radius = q * spread`` holds the true landmark with
probability >= ``coverage`` when the image is exchangeable with the
validation images. A landmark is flagged when its spread exceeds every
spread validation saw for it: the radius is then extrapolated.

Running a model to get these signals (heatmaps in its predictions, a split
to calibrate on) is :mod:`mmpose_medsapiens.evaluation.uncertainty_calibration`.
"""
import json
import math
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch

CALIBRATION_FORMAT = 1


def heatmap_spread(heatmaps: torch.Tensor, radius: int = 4) -> torch.Tensor:
    """Spread of each heatmap around its maximum, in heatmap pixels.

    Written with tensor operations so that it also traces into ONNX.

    Args:
        heatmaps (torch.Tensor): ``(N, K, H, W)``.
        radius (int): Window radius around the peak, in heatmap pixels.

    Returns:
        torch.Tensor: ``(N, K)``; ``inf`` where the window holds no positive mass.
    """
    n, k, h, w = heatmaps.shape
    index = heatmaps.reshape(n, k, h * w).argmax(dim=2)
    px = (index % w).float()[..., None, None]
    py = torch.div(index, w, rounding_mode='floor').float()[..., None, None]
    gy = torch.arange(h, dtype=heatmaps.dtype, device=heatmaps.device).view(1, 1, h, 1)
    gx = torch.arange(w, dtype=heatmaps.dtype, device=heatmaps.device).view(1, 1, 1, w)
    dist2 = (gx - px)**2 + (gy - py)**2
    weight = heatmaps.clamp(min=0) * (dist2 <= radius * radius).to(heatmaps.dtype)
    mass = weight.sum(dim=(2, 3))
    spread = torch.sqrt((weight * dist2).sum(dim=(2, 3)) / mass.clamp(min=1e-12))
    return torch.where(mass > 0, spread, torch.full_like(spread, float('inf')))


def spread_in_image_pixels(spread_hm, heatmap_size, input_scale):
    """Heatmap-pixel spread to original-image pixels (UDP: x_img = x_hm * s / (W - 1)).

    Args:
        spread_hm (np.ndarray): ``(K, )`` spread in heatmap pixels.
        heatmap_size (Sequence[int]): (w, h).
        input_scale (Sequence[float]): The box size (w, h) in image pixels.
    """
    factor = np.mean(np.asarray(input_scale, np.float64) /
                     (np.asarray(heatmap_size, np.float64) - 1))
    return np.asarray(spread_hm, np.float64) * factor


def predicted_heatmap_spread(heatmaps, input_scale) -> np.ndarray:
    """Spread in image pixels of one prediction's heatmaps ``(K, H, W)``.

    Args:
        heatmaps (torch.Tensor | np.ndarray): A data sample's
            ``pred_fields.heatmaps``.
        input_scale (Sequence[float]): The sample's ``input_scale`` (w, h).
    """
    heatmaps = torch.as_tensor(heatmaps).detach().float()
    # MMPose leaves pred_fields on the model's device: compute there, move the (K, ) result.
    spread = heatmap_spread(heatmaps[None])[0].cpu().numpy()
    return spread_in_image_pixels(spread, (heatmaps.shape[-1], heatmaps.shape[-2]), input_scale)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation of two 1-D arrays (ties get their mean rank).

    Args:
        x (np.ndarray): ``(N, )`` values, e.g. heatmap spreads.
        y (np.ndarray): ``(N, )`` values, e.g. radial errors.

    Returns:
        float: NaN for fewer than two values or a constant array.
    """
    def ranks(a):
        _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
        # Rank of each distinct value = mean of the positions it occupies.
        ends = np.cumsum(counts)
        return ((ends - counts + ends - 1) / 2.0)[inverse]

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if len(x) < 2:
        return float('nan')
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float('nan')
    return float(np.corrcoef(rx, ry)[0, 1])


class ConformalCalibration:
    """Per-landmark conformal quantiles of ``error / spread`` and the spreads seen.

    Args:
        quantiles (Sequence[float]): ``q`` per landmark (``inf`` when the
            validation split is too small for the coverage).
        max_spread (Sequence[float]): The largest validation spread per
            landmark, in image pixels.
        coverage (float): The nominal coverage.
        keypoint_names (Sequence[str]): Landmark names, in channel order.
        fingerprint (str): :func:`mmpose_medsapiens.deploy.model_fingerprint`
            of the model calibrated.
        num_samples (Sequence[int]): Validation errors per landmark.
    """

    def __init__(self, quantiles, max_spread, coverage, keypoint_names, fingerprint,
                 num_samples):
        self.quantiles = np.asarray(quantiles, np.float64)
        self.max_spread = np.asarray(max_spread, np.float64)
        self.coverage = float(coverage)
        self.keypoint_names = list(keypoint_names)
        self.fingerprint = fingerprint
        self.num_samples = [int(n) for n in num_samples]
        self.path = None

    @classmethod
    def fit(cls, errors, spreads, coverage: float, keypoint_names, fingerprint):
        """Calibrate on validation ``errors`` and ``spreads`` ``(N, K)``, image pixels.

        NaN errors (landmarks without ground truth) are left out.

        Args:
            errors (np.ndarray): ``(N, K)`` radial errors in image pixels.
            spreads (np.ndarray): ``(N, K)`` heatmap spreads in image pixels.
            coverage (float): Nominal coverage, in (0, 1).
            keypoint_names (Sequence[str]): Landmark names, in channel order.
            fingerprint (str): The calibrated model's fingerprint.
        """
        if not 0 < coverage < 1:
            raise ValueError(f'coverage must be in (0, 1), got {coverage}')
        errors, spreads = np.asarray(errors, np.float64), np.asarray(spreads, np.float64)
        quantiles, max_spread, counts = [], [], []
        for k in range(errors.shape[1]):
            keep = np.isfinite(errors[:, k]) & np.isfinite(spreads[:, k]) & (spreads[:, k] > 0)
            scores = np.sort(errors[keep, k] / spreads[keep, k])
            rank = math.ceil((len(scores) + 1) * coverage)
            quantiles.append(scores[rank - 1] if rank <= len(scores) else float('inf'))
            max_spread.append(spreads[keep, k].max() if keep.any() else float('nan'))
            counts.append(len(scores))
        return cls(quantiles, max_spread, coverage, keypoint_names, fingerprint, counts)

    def radius(self, spread) -> np.ndarray:
        """Radius per landmark (same unit as ``spread``) for spreads ``(..., K)``."""
        return np.asarray(spread, np.float64) * self.quantiles

    def outside_validation(self, spread) -> np.ndarray:
        """True where a spread exceeds what validation saw for that landmark."""
        return ~(np.asarray(spread, np.float64) <= self.max_spread)

    def check_model(self, fingerprint: str, keypoint_names: Sequence[str],
                    model_name: Optional[str] = None) -> None:
        """Raise unless the calibration was made for this model.

        Args:
            fingerprint (str): The model's fingerprint.
            keypoint_names (Sequence[str]): The landmarks the model predicts.
            model_name (str, optional): Named in the error message.

        Raises:
            ValueError: Another landmark count or another model.
        """
        where = self.path or 'the uncertainty calibration'
        if len(keypoint_names) != len(self.keypoint_names):
            raise ValueError(f'{where} is for {len(self.keypoint_names)} landmarks, '
                             f'{model_name or "the model"} predicts {len(keypoint_names)}')
        if fingerprint != self.fingerprint:
            raise ValueError(f'{where} was calibrated for the model with fingerprint '
                             f'{self.fingerprint}, {model_name or "this model"} has '
                             f'{fingerprint}: calibrate it with '
                             'tools/analysis/calibrate_uncertainty.py')

    def to_dict(self) -> dict:
        """The calibration file's content (JSON-ready; ``inf`` and NaN as null)."""
        return dict(format=CALIBRATION_FORMAT, method='split conformal, score = error / '
                    'heatmap spread', coverage=self.coverage, fingerprint=self.fingerprint,
                    keypoint_names=self.keypoint_names,
                    quantiles=[None if not np.isfinite(q) else float(q)
                               for q in self.quantiles],
                    max_spread_px=[None if np.isnan(s) else float(s) for s in self.max_spread],
                    num_samples=self.num_samples)

    def dump(self, path: str) -> None:
        """Write :meth:`to_dict` as JSON to ``path``.

        Args:
            path (str): The calibration file to write.
        """
        with open(path, 'w') as f:
            json.dump(self.to_dict(), f, indent=1)

    @classmethod
    def load(cls, path: str) -> 'ConformalCalibration':
        """Read a calibration file written by :meth:`dump`.

        Args:
            path (str): The calibration file.

        Raises:
            FileNotFoundError: ``path`` does not exist.
            ValueError: Not a calibration of this format; names the file.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'uncertainty calibration {path} does not exist')
        try:
            with open(path) as f:
                raw = json.load(f)
            if raw.get('format') != CALIBRATION_FORMAT:
                raise ValueError(f'format {raw.get("format")}, expected {CALIBRATION_FORMAT}')
            calibration = cls([float('inf') if q is None else q for q in raw['quantiles']],
                              [float('nan') if s is None else s for s in raw['max_spread_px']],
                              raw['coverage'], raw['keypoint_names'], raw['fingerprint'],
                              raw['num_samples'])
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ValueError(f'{path} is not an uncertainty calibration: '
                             f'{type(e).__name__}: {e}') from None
        calibration.path = path
        return calibration
