"""What is written and printed about :class:`MedicalLandmarkMetric` results.

Per-image and per-landmark tables (rows, CSV), the worst images, JSON, the
error plots and the printed report, in one home for
``MedicalLandmarkMetric(outfile_prefix=...)``, its log and the offline
evaluation (:mod:`mmpose_medsapiens.evaluation.offline_evaluation`), so their
columns and numbers are the same wherever they appear.
"""
import csv
import json
import os
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np

from .functional.landmark_errors import success_rate

PER_IMAGE_COLUMNS = ('dataset', 'img_id', 'img_path', 'unit', 'count', 'MRE', 'max',
                     'worst_landmark')
PER_LANDMARK_COLUMNS = ('dataset', 'unit', 'landmark', 'name', 'count', 'MRE', 'STD')


def group_by_dataset(results: List[dict]) -> 'OrderedDict':
    """Results per ``dataset_name``, in first-seen order."""
    groups = OrderedDict()
    for res in results:
        groups.setdefault(res['dataset_name'], []).append(res)
    return groups


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
                row[f'SDR_{r:g}'] = (success_rate(col, r, inclusive)
                                     if col.size else float('nan'))
            rows.append(row)
    return rows


def per_image_rows(results: List[dict]) -> List[dict]:
    """Mean, max and per-landmark errors of every image, in input order.

    Args:
        results (list[dict]): The metric's results (``errors`` (K, ) with NaN
            where the ground truth is not visible, ``dataset_name``,
            ``img_id``, ``img_path``, ``unit``).

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


def _finite(value: float) -> Optional[float]:
    return None if np.isnan(value) else float(value)


def per_image_records(results: List[dict]) -> List[dict]:
    """Every image's prediction, ground truth and errors, JSON-ready (NaN as None).

    Args:
        results (list[dict]): The metric's results (``pred``, ``gt``,
            ``errors``, ``measurements`` and, with heatmaps, ``spread`` and
            ``pixel_errors``).

    Returns:
        list[dict]: One record per image, in input order.
    """
    return [dict(img_id=r['img_id'], img_path=r['img_path'], dataset_name=r['dataset_name'],
                 unit=r['unit'], pred=r['pred'].tolist(), gt=r['gt'].tolist(),
                 errors=[None if np.isnan(e) else float(e) for e in r['errors']],
                 **({} if 'spread' not in r else dict(
                     spread_px=[float(v) for v in r['spread']],
                     pixel_errors=[None if np.isnan(e) else float(e)
                                   for e in r['pixel_errors']])),
                 measurements={n: dict(pred=_finite(p), gt=_finite(g), unit=u)
                               for n, (p, g, u) in r['measurements'].items()})
            for r in results]


def write_per_image_files(outfile_prefix: str, results: List[dict]) -> None:
    """``<prefix>.per_image.json`` (:func:`per_image_records`) and ``<prefix>.per_image.csv``.

    Args:
        outfile_prefix (str): Path prefix; its folder is made if missing.
        results (list[dict]): The metric's results.
    """
    dirname = os.path.dirname(outfile_prefix)
    if dirname:
        os.makedirs(dirname, exist_ok=True)
    with open(f'{outfile_prefix}.per_image.json', 'w') as f:
        json.dump(per_image_records(results), f, indent=1)
    write_per_image_csv(f'{outfile_prefix}.per_image.csv', per_image_rows(results))


def worst_images(image_rows: list, num: int) -> list:
    """The ``num`` images of highest mean error in each dataset.

    Errors of different datasets may be in different units, so images are
    ranked within their dataset. Images without a visible landmark are left out.

    Args:
        image_rows (list[dict]): From :func:`per_image_rows`.
        num (int): Images per dataset.

    Returns:
        list[dict]: ``rank`` (1 = worst), dataset, image and its errors.
    """
    out = []
    datasets = list(OrderedDict.fromkeys(row['dataset'] for row in image_rows))
    for dataset in datasets:
        rows = [r for r in image_rows if r['dataset'] == dataset and r['count']]
        rows.sort(key=lambda r: r['MRE'], reverse=True)
        for rank, row in enumerate(rows[:num], start=1):
            entry = OrderedDict(rank=rank)
            entry.update((k, v) for k, v in row.items() if k != 'errors')
            entry['errors'] = [None if np.isnan(e) else float(e) for e in row['errors']]
            out.append(entry)
    return out


def _json_ready(value):
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(path: str, data):
    """Write ``data`` as JSON; numpy scalars as numbers, NaN as null.

    Args:
        path (str): The file to write.
        data: Dicts, lists, numbers and strings (numpy scalars allowed).
    """
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(_json_ready(data), f, indent=2)


def _new_figure(width: float, height: float):
    # The Agg canvas directly, not pyplot: no global backend switch or
    # figure registry in the caller's process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def plot_cdf(path: str, results: list, radii):
    """Cumulative distribution of the radial error, one curve per dataset.

    Args:
        path (str): PNG to write.
        results (list[dict]): The metric's results.
        radii (Sequence[float]): SDR radii, drawn as vertical lines.
    """
    fig = _new_figure(7, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    units, all_errors = [], []
    for dataset, group in group_by_dataset(results).items():
        errors = np.concatenate([r['errors'] for r in group])
        errors = np.sort(errors[~np.isnan(errors)])
        if not errors.size:
            continue
        unit = group[0]['unit']
        units.append(unit)
        all_errors.append(errors)
        percent = 100.0 * np.arange(1, errors.size + 1) / errors.size
        ax.step(np.concatenate([[0.0], errors]), np.concatenate([[0.0], percent]),
                where='post', label=f'{dataset or "all"} (n={errors.size}, MRE '
                f'{errors.mean():.2f} {unit})')
    for index, r in enumerate(radii):
        # One legend entry for all radii: labels at the lines overlap.
        ax.axvline(r, color='0.5', linestyle='--', linewidth=0.8,
                   label=f'SDR radii ({", ".join(f"{x:g}" for x in radii)})'
                   if index == 0 else None)
    # Keep the SDR radii readable when a few outliers are far out.
    right = max(1.5 * max(radii), float(np.percentile(np.concatenate(all_errors), 99)) * 1.05)
    ax.set_xlim(0, right)
    ax.set_ylim(0, 100)
    unit_label = ' / '.join(OrderedDict.fromkeys(units))
    ax.set_xlabel(f'radial error ({unit_label})')
    ax.set_ylabel('landmarks within error (%)')
    ax.grid(True, alpha=0.3)
    ax.legend(loc='lower right', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_per_landmark(path: str, landmark_rows: list):
    """Bar chart of the per-landmark MRE (with STD), one panel per dataset.

    Args:
        path (str): PNG to write.
        landmark_rows (list[dict]): From :func:`per_landmark_rows`.
    """
    datasets = list(OrderedDict.fromkeys(row['dataset'] for row in landmark_rows))
    most = max(sum(r['dataset'] == d for r in landmark_rows) for d in datasets)
    fig = _new_figure(max(6.0, 0.35 * most + 2), 3.6 * len(datasets))
    for index, dataset in enumerate(datasets, start=1):
        rows = [r for r in landmark_rows if r['dataset'] == dataset]
        ax = fig.add_subplot(len(datasets), 1, index)
        mre = np.array([r['MRE'] for r in rows])
        std = np.array([r['STD'] for r in rows])
        ax.bar(np.arange(len(rows)), np.nan_to_num(mre), yerr=np.nan_to_num(std),
               color='tab:blue', ecolor='0.4', capsize=2)
        named = all(r['name'] for r in rows)
        ax.set_xticks(np.arange(len(rows)))
        ax.set_xticklabels([r['name'] if named else str(r['landmark']) for r in rows],
                           rotation=60 if named else 0, ha='right' if named else 'center',
                           fontsize=8)
        if not named:
            ax.set_xlabel('landmark')
        ax.set_ylabel(f'MRE ({rows[0]["unit"]})')
        ax.set_title(f'per-landmark MRE{f" - {dataset}" if dataset else ""}', fontsize=10)
        ax.grid(True, axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def print_report(metrics: dict, landmark_rows: list, worst: list):
    """Print the metrics, the per-landmark table of each dataset and the worst images.

    Args:
        metrics (dict): The metric's keys and values.
        landmark_rows (list[dict]): From :func:`per_landmark_rows`.
        worst (list[dict]): From :func:`worst_images`.
    """
    print('metrics:')
    for key, value in metrics.items():
        print(f'  {key:<28s} {value:10.4f}')
    for dataset in OrderedDict.fromkeys(r['dataset'] for r in landmark_rows):
        rows = [r for r in landmark_rows if r['dataset'] == dataset]
        sdr_cols = [k for k in rows[0] if k.startswith('SDR_')]
        header = f'  {"#":>3s} {"name":<28s} {"n":>5s} {"MRE":>8s} {"STD":>8s} ' + \
            ' '.join(f'{c:>9s}' for c in sdr_cols)
        print(f'\nper landmark ({dataset or "dataset"}, {rows[0]["unit"]}, SDR in %):')
        print(header)
        for r in rows:
            print(f'  {r["landmark"]:3d} {r["name"]:<28s} {r["count"]:5d} '
                  f'{r["MRE"]:8.3f} {r["STD"]:8.3f} ' +
                  ' '.join(f'{r[c]:9.2f}' for c in sdr_cols))
    print('\nworst images (by mean error):')
    for w in worst:
        print(f'  {w["dataset"] or "-":<16s} #{w["rank"]:<3d} id {str(w["img_id"]):<10s} '
              f'MRE {w["MRE"]:8.3f} {w["unit"]}  max {w["max"]:8.3f} (landmark '
              f'{w["worst_landmark"]})  {w["img_path"] or ""}')
