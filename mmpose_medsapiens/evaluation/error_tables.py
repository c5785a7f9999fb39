"""Per-landmark and per-image error tables of :class:`MedicalLandmarkMetric` results.

One home for the tables that ``MedicalLandmarkMetric(outfile_prefix=...)``,
its log and ``tools/analysis/evaluate_predictions.py`` write, so their
columns and numbers are the same wherever they appear.
"""
import csv
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np

PER_IMAGE_COLUMNS = ('dataset', 'img_id', 'img_path', 'unit', 'count', 'MRE', 'max',
                     'worst_landmark')
PER_LANDMARK_COLUMNS = ('dataset', 'unit', 'landmark', 'name', 'count', 'MRE', 'STD')


def group_by_dataset(results: List[dict]) -> 'OrderedDict':
    """Results per ``dataset_name``, in first-seen order."""
    groups = OrderedDict()
    for res in results:
        groups.setdefault(res['dataset_name'], []).append(res)
    return groups


def success(errors: np.ndarray, radius: float, inclusive: bool = False) -> np.ndarray:
    """The SDR rule: strict ``PE < r`` (MedSapiens, Payer), or ``PE <= r``."""
    return errors <= radius if inclusive else errors < radius


def table_radii(results: List[dict], radii: Optional[Sequence[float]] = None) -> tuple:
    """``radii``, else the union of the results' protocol radii."""
    if radii is not None:
        return tuple(float(r) for r in radii)
    return tuple(sorted({float(r) for res in results for r in res['radii']}))


def per_landmark_rows(results: List[dict], names: Optional[Dict[str, Sequence[str]]] = None,
                      radii: Optional[Sequence[float]] = None,
                      inclusive: bool = False) -> List[dict]:
    """Count, MRE, STD (population) and SDR (%) of every landmark, per dataset.

    Args:
        results (list[dict]): The metric's results (``errors`` (K, ) with NaN
            where the ground truth is not visible, ``dataset_name``, ``unit``,
            ``radii``).
        names (dict, optional): Dataset name -> landmark names.
        radii (Sequence[float], optional): SDR radii; by default each
            dataset's own.
        inclusive (bool): Count ``PE <= r`` as success.

    Returns:
        list[dict]: One row per (dataset, landmark), with ``SDR_<r>`` keys;
        NaN where a landmark is never visible.
    """
    names = names or {}
    rows = []
    for dataset, group in group_by_dataset(results).items():
        errors = np.stack([r['errors'] for r in group])  # (N, K)
        landmark_list = list(names.get(dataset) or [])
        if len(landmark_list) != errors.shape[1]:
            landmark_list = []  # names of another landmark set
        for k in range(errors.shape[1]):
            col = errors[:, k][~np.isnan(errors[:, k])]
            row = OrderedDict(dataset=dataset, unit=group[0]['unit'], landmark=k,
                              name=landmark_list[k] if landmark_list else '',
                              count=int(col.size),
                              MRE=float(col.mean()) if col.size else float('nan'),
                              STD=float(col.std()) if col.size else float('nan'))
            for r in table_radii(group, radii):
                row[f'SDR_{r:g}'] = (float(100.0 * success(col, r, inclusive).mean())
                                     if col.size else float('nan'))
            rows.append(row)
    return rows


def per_image_rows(results: List[dict]) -> List[dict]:
    """Mean, max and per-landmark errors of every image, in input order.

    Returns:
        list[dict]: :data:`PER_IMAGE_COLUMNS` plus ``errors`` (K, ).
    """
    rows = []
    for res in results:
        errors = np.asarray(res['errors'], dtype=np.float64)
        valid = ~np.isnan(errors)
        rows.append(OrderedDict(
            dataset=res['dataset_name'], img_id=res['img_id'], img_path=res['img_path'],
            unit=res['unit'], count=int(valid.sum()),
            MRE=float(errors[valid].mean()) if valid.any() else float('nan'),
            max=float(errors[valid].max()) if valid.any() else float('nan'),
            worst_landmark=int(np.nanargmax(errors)) if valid.any() else None,
            errors=errors))
    return rows


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ''
    if isinstance(value, float):
        return f'{value:.6f}'
    return str(value)


def write_csv(path: str, rows: List[dict], columns: Sequence[str]) -> None:
    """Write ``rows`` (dicts) as CSV with ``columns``; NaN and None as empty cells."""
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def write_per_image_csv(path: str, image_rows: List[dict]) -> None:
    """:func:`per_image_rows` as CSV: the summary columns, then ``e0``, ``e1``..."""
    num_errors = max(len(row['errors']) for row in image_rows)
    error_cols = [f'e{k}' for k in range(num_errors)]
    write_csv(path, [dict(row, **dict(zip(error_cols, row['errors']))) for row in image_rows],
              list(PER_IMAGE_COLUMNS) + error_cols)


def write_per_landmark_csv(path: str, landmark_rows: List[dict]) -> None:
    """:func:`per_landmark_rows` as CSV (SDR columns: every radius of the rows)."""
    sdr = list(OrderedDict.fromkeys(k for row in landmark_rows for k in row
                                    if k.startswith('SDR_')))
    write_csv(path, landmark_rows, list(PER_LANDMARK_COLUMNS) + sdr)
