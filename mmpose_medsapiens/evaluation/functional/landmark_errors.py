"""Radial error of predicted landmarks and the success detection rate (SDR).

The math behind ``MRE`` and ``SDR`` wherever they are reported: the metric,
its per-landmark tables and the offline evaluation all call these, so one
rule decides what counts as a success.
"""
import numpy as np

from .calibration import normalisation_factor


def radial_errors(pred: np.ndarray, gt: np.ndarray, calibration: dict) -> np.ndarray:
    """Per-landmark radial error of one image in the calibration's unit.

    ``PE = factor * ||(gt - pred) * spacing||`` where ``factor`` is 1, or, for a
    ``normalize=dict(pair=(i, j), distance=d)`` rule, ``d / ||(gt_i - gt_j) * spacing||``.

    Args:
        pred (np.ndarray): Predicted landmarks (K, 2) in original pixels.
        gt (np.ndarray): Ground-truth landmarks (K, 2) in original pixels.
        calibration (dict): ``spacing`` (x, y), ``unit``, ``normalize``.

    Returns:
        np.ndarray: (K, ) errors, float64.
    """
    spacing = np.asarray(calibration['spacing'], dtype=np.float64)
    errors = np.linalg.norm((gt.astype(np.float64) - pred.astype(np.float64)) * spacing, axis=-1)
    return errors * normalisation_factor(gt, calibration)


def success(errors: np.ndarray, radius: float, inclusive: bool = False) -> np.ndarray:
    """The SDR rule: strict ``PE < r`` (MedSapiens, Payer), or ``PE <= r``.

    Args:
        errors (np.ndarray): Radial errors, any shape.
        radius (float): The SDR radius, in the errors' unit.
        inclusive (bool): Count ``PE <= r`` as success. Defaults to False.

    Returns:
        np.ndarray: Boolean, the shape of ``errors``.
    """
    return errors <= radius if inclusive else errors < radius


def success_rate(errors: np.ndarray, radius: float, inclusive: bool = False) -> float:
    """Percent of ``errors`` counted as a success by :func:`success`.

    Args:
        errors (np.ndarray): Radial errors without NaN (non-empty).
        radius (float): The SDR radius, in the errors' unit.
        inclusive (bool): Count ``PE <= r`` as success. Defaults to False.
    """
    return float(100.0 * success(errors, radius, inclusive).mean())
