"""Training-pipeline throughput on full-leg radiographs, with and without the cache.

A synthetic full-leg set (2396 x 5628 16-bit PNGs, 26 landmarks, per-image
spacing 0.139-0.155 mm in ``leg_meta_json``, the MedSapiens release layout)
is written to a temporary folder. The training pipeline of
``configs/medsapiens_legs.py`` (its real transforms: flip, random box
shift/zoom/rotation, 768 x 1024 affine, photometric distortion, heatmap
targets, packing) then runs in one process (as one data loader worker
would) with three loaders:

- ``(i) LoadImage``: MMPose's stock loader on the 16-bit PNGs (a speed
  baseline only: its colour read keeps just the high byte of each pixel);
- ``(ii) LoadMedicalImage``: this package's loader (16-bit windowing);
- ``(iii) cache``: the working-resolution cache built by
  :func:`build_working_resolution_cache`, read by ``LoadMedicalImage``.

Samples are interleaved across the variants (same image, same random seed,
one variant after the other) so that their ratio holds under varying load.
For correctness, each output's input-space ``keypoints`` are mapped back to
millimetres of the original image (through the sample's own affine and the
set's spacing) and compared with ``(ii)``; the target heatmaps are compared
too (for information: the cache shifts the crop by a fraction of an input
pixel, image and landmarks alike).

Usage:
    python tools/benchmarks/data_pipeline_throughput.py [--out-dir DIR] [--quick] \
        [--num-images 6] [--repeats 3] [--seed 0] [--keep-data DIR]
"""
import functools
import os
import os.path as osp
import random
import shutil
import tempfile
import time

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.dataset import Compose
from mmpose.registry import DATASETS, TRANSFORMS

import mmpose_medsapiens  # noqa: F401  (registers datasets and transforms)
from mmpose_medsapiens.conversion import build_working_resolution_cache
from mmpose_medsapiens.testing import (LEG_ANN_NAME, LEG_FULL_SIZE, base_parser, median,
                                       print_table, time_interleaved, write_json, write_leg_set)

NAME = 'data_pipeline_throughput'
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'medsapiens_legs.py')
QUICK_SIZE = (958, 2250)


# ------------------------------------------------------------------ checking
def landmarks_mm(sample, spacing, size, flip_indices, use_udp=False):
    """Map packed input-space keypoints back to mm of the unflipped image.

    Args:
        sample (dict): Output of the pipeline (``inputs``, ``data_samples``).
        spacing (tuple): ``(sx, sy)`` of the image the variant loaded.
        size (tuple): ``(W, H)`` of that image.
        flip_indices (list): Landmark order after a horizontal flip.
        use_udp (bool): Whether ``TopdownAffine`` used the UDP warp.

    Returns:
        np.ndarray: ``(K, 2)`` positions in mm from the image's corner.
    """
    from mmpose.structures.bbox import get_udp_warp_matrix, get_warp_matrix

    meta = sample['data_samples'].metainfo
    kpts = np.asarray(sample['data_samples'].gt_instances.transformed_keypoints, np.float64)[0]
    rot = float(np.asarray(meta.get('bbox_rotation', [0.0])).ravel()[0])
    # The very matrix TopdownAffine applied, inverted in float64.
    warp = get_udp_warp_matrix if use_udp else get_warp_matrix
    mat = warp(meta['input_center'], meta['input_scale'], rot, output_size=meta['input_size'])
    inv = np.linalg.inv(np.vstack([np.asarray(mat, np.float64), [0.0, 0.0, 1.0]]))
    xy = kpts @ inv[:2, :2].T + inv[:2, 2]
    if meta.get('flip'):
        # Label i now holds the mirrored landmark flip_indices[i].
        xy[:, 0] = size[0] - 1 - xy[:, 0]
        unflipped = np.empty_like(xy)
        unflipped[flip_indices] = xy
        xy = unflipped
    # Pixel centres sit at integers: a pixel's outer corner is at -0.5.
    return (xy + 0.5) * np.asarray(spacing, np.float64)


def _check_values(sample, dataset, index, flip_indices, use_udp):
    """Landmarks in original mm and target heatmaps of one pipeline output."""
    info = dataset.get_data_info(index)
    size = np.asarray(info['raw_ann_info']['bbox'][2:], np.float64)  # whole image: (W, H)
    mm = landmarks_mm(sample, info['calibration']['spacing'], size, flip_indices, use_udp)
    heat = sample['data_samples'].gt_fields.heatmaps
    return mm, heat.numpy() if hasattr(heat, 'numpy') else np.asarray(heat)


# ---------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--num-images', type=int, default=None,
                        help='synthetic images (default 6; 2 with --quick)')
    parser.add_argument('--repeats', type=int, default=None,
                        help='passes over the images per variant (default 3; 1 with --quick)')
    parser.add_argument('--seed', type=int, default=0, help='seed of data and augmentation')
    parser.add_argument('--threads', type=int, default=1,
                        help='OpenCV threads (1: like a data loader worker)')
    parser.add_argument('--keep-data', default=None,
                        help='write the synthetic set and cache into this new folder and keep '
                        'them')
    args = parser.parse_args(argv)
    if args.keep_data and osp.exists(args.keep_data) and os.listdir(args.keep_data):
        parser.error(f'--keep-data {args.keep_data} is not empty; give a new folder')
    return args


def main(argv=None):
    """Run the benchmark; return its results dict."""
    args = parse_args(argv)
    cv2.setNumThreads(args.threads)
    num_images = args.num_images or (2 if args.quick else 6)
    repeats = args.repeats or (1 if args.quick else 3)
    size = QUICK_SIZE if args.quick else LEG_FULL_SIZE

    cfg = Config.fromfile(CONFIG)
    train_ds = cfg.train_dataloader.dataset
    pipeline = [dict(t) for t in train_ds.pipeline]
    assert pipeline[0]['type'] == 'LoadMedicalImage', pipeline[0]
    affine = next(t for t in pipeline if t['type'] == 'TopdownAffine')
    use_udp = bool(affine.get('use_udp', False))
    padding = next(t for t in pipeline if t['type'] == 'GetBBoxCenterScale').get('padding', 1.25)
    # Checking needs the input-space keypoints (the targets' source) and the
    # rotation to map them back; packing them costs nothing.
    pipeline[-1]['meta_keys'] = tuple(pipeline[-1]['meta_keys']) + ('bbox_rotation', )
    pipeline[-1]['pack_transformed'] = True
    stock = [dict(type='LoadImage')] + pipeline[1:]

    work = args.keep_data or tempfile.mkdtemp(prefix='leg_pipeline_')
    src_root, cache_root = osp.join(work, 'source'), osp.join(work, 'cache')
    try:
        t0 = time.perf_counter()
        write_leg_set(src_root, num_images, size, args.seed)
        gen_s = time.perf_counter() - t0

        def dataset(root):
            return DATASETS.build(dict(type=train_ds.type, data_root=root + '/',
                                       ann_file=LEG_ANN_NAME, data_prefix=dict(img='Images/'),
                                       pipeline=[]))

        def compose(transforms):
            return Compose([TRANSFORMS.build(t) for t in transforms])

        source = dataset(src_root)
        summary = build_working_resolution_cache(source, cache_root, affine['input_size'],
                                                 padding=padding)
        cached = dataset(cache_root)
        variants = {
            '(i) LoadImage': (source, compose(stock)),
            '(ii) LoadMedicalImage': (source, compose(pipeline)),
            '(iii) cache + LoadMedicalImage': (cached, compose(pipeline)),
        }
        reference = '(ii) LoadMedicalImage'
        flip_indices = source.metainfo['flip_indices']
        max_mm = {name: 0.0 for name in variants}
        max_heat = {name: 0.0 for name in variants}
        outputs = {}

        def run(name, k):
            ds, pipe = variants[name]
            # Sample k draws the same flip, box shift/zoom/rotation and
            # colour changes in every variant.
            np.random.seed(args.seed * 100003 + k)
            random.seed(args.seed * 100003 + k)
            outputs[name] = pipe(ds.get_data_info(k % num_images))

        for name in variants:  # warm-up (imports, allocations), not timed
            run(name, 0)
        times = {name: [] for name in variants}
        names = list(variants)
        t0 = time.perf_counter()
        for k in range(repeats * num_images):
            # One sample of every variant per round, the order rotating, so
            # all variants see the same load; checks run outside the timing.
            order = names[k % 3:] + names[:k % 3]
            got = time_interleaved({n: functools.partial(run, n, k) for n in order},
                                   repeats=1, warmup=0)
            for name in names:
                times[name] += got[name]
            ref_mm, ref_heat = _check_values(outputs[reference], source, k % num_images,
                                             flip_indices, use_udp)
            for name in names:
                mm, heat = _check_values(outputs[name], variants[name][0], k % num_images,
                                         flip_indices, use_udp)
                max_mm[name] = max(max_mm[name], float(np.abs(mm - ref_mm).max()))
                max_heat[name] = max(max_heat[name], float(np.abs(heat - ref_heat).max()))
        bench_s = time.perf_counter() - t0
    finally:
        if not args.keep_data:
            shutil.rmtree(work, ignore_errors=True)

    base = median(times['(i) LoadImage'])
    rows = []
    for name, (ds, _) in variants.items():
        width, height = (int(v) for v in ds.get_data_info(0)['raw_ann_info']['bbox'][2:])
        med = median(times[name])
        rows.append(dict(variant=name, image=f'{width}x{height}',
                         ms_per_sample=1e3 * med, samples_per_s=1.0 / med,
                         speedup_vs_i=base / med, max_landmark_diff_mm=max_mm[name],
                         max_heatmap_diff=max_heat[name]))
    title = (f'{NAME}: {num_images} images {size[0]}x{size[1]} 16-bit, {repeats} passes, '
             f'median per sample ({len(times[reference])} samples per variant)')
    print_table(rows, list(rows[0]), title)
    speedup = rows[2]['speedup_vs_i']
    worst_mm = max(max_mm.values())
    print(f'cache build: {summary["seconds"]:.2f} s for {summary["num_images"]} images '
          f'({summary["seconds"] / summary["num_images"]:.2f} s/image, scale '
          f'{summary["scale_min"]:.4f}-{summary["scale_max"]:.4f}); synthetic set: '
          f'{gen_s:.1f} s; timing: {bench_s:.1f} s')
    print(f'(iii) runs at {speedup:.2f}x the samples/s of (i); max landmark difference '
          f'{worst_mm:.2e} mm')
    results = dict(
        variants=rows, speedup_cache_vs_loadimage=speedup, max_landmark_diff_mm=worst_mm,
        cache_build_s=summary['seconds'],
        cache_build_s_per_image=summary['seconds'] / summary['num_images'],
        cache_scale=[summary['scale_min'], summary['scale_max']],
        cache_sizes=[list(s) for s in summary['sizes']], synthetic_set_s=gen_s,
        timing_s=bench_s, times_s={k: v for k, v in times.items()})
    settings = dict(config=osp.relpath(CONFIG, REPO_ROOT), quick=args.quick,
                    num_images=num_images, repeats=repeats, image_size=list(size),
                    input_size=list(affine['input_size']), use_udp=use_udp, padding=padding,
                    seed=args.seed,
                    opencv_threads=args.threads)
    write_json(args.out_dir, NAME, settings, results)
    return results


if __name__ == '__main__':
    main()
