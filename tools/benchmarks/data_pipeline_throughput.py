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

Goal: ``(iii)`` runs at least 5x the samples/s of ``(i)`` with landmark
targets within 0.05 mm of ``(ii)``.

Usage:
    python tools/benchmarks/data_pipeline_throughput.py [--out-dir DIR] [--quick] \
        [--num-images 6] [--repeats 3] [--seed 0] [--keep-data DIR]
"""
import functools
import json
import os
import os.path as osp
import random
import shutil
import tempfile
import time

import _common
import cv2
import numpy as np

NAME = 'data_pipeline_throughput'
CONFIG = osp.join(_common.REPO_ROOT, 'configs', 'medsapiens_legs.py')
FULL_SIZE = (2396, 5628)  # (w, h) of the MedSapiens full-leg radiographs
QUICK_SIZE = (958, 2250)
SPACING_RANGE = (0.139, 0.155)
ANN_NAME = 'leg_coco_train_annotations.json'
MAX_LANDMARK_DIFF_MM = 0.05
MIN_SPEEDUP = 5.0
# Landmarks per leg, top to bottom, as (x, y) fractions of the leg's frame:
# x across the leg (0 = its centre line, +1 = lateral edge of the bone), y
# from the hip (0) to the ankle (1).
_LEG_POINTS = (
    (0.0, 0.00),  # femoral head centre
    (1.1, 0.02),  # greater trochanter
    (0.5, 0.04),  # femoral neck
    (0.3, 0.25),  # femoral shaft
    (0.9, 0.47),  # lateral femoral condyle
    (-0.9, 0.47),  # medial femoral condyle
    (0.0, 0.46),  # intercondylar notch
    (0.8, 0.51),  # lateral tibial plateau
    (-0.8, 0.51),  # medial tibial plateau
    (0.0, 0.72),  # tibial shaft
    (0.7, 0.98),  # lateral malleolus
    (-0.6, 0.97),  # medial malleolus
    (0.0, 0.96),  # tibial plafond
)


# ------------------------------------------------------------ synthetic data
def draw_leg_radiograph(rng, width, height):
    """Draw a 16-bit full-leg radiograph-like image and its 26 landmarks.

    Two legs (soft tissue, femur, tibia, fibula, joint spaces) under a
    pelvis arc, smooth exposure variation and quantum-like noise, so that
    the PNG compresses like a real radiograph rather than like a flat image.

    Args:
        rng (np.random.Generator): Random generator.
        width (int): Image width.
        height (int): Image height.

    Returns:
        tuple[np.ndarray, np.ndarray]: uint16 ``(height, width)`` image and
        float ``(26, 2)`` landmarks (leg A's 13, then leg B's) in pixels.
    """
    # Anatomy is drawn on a coarse canvas (structures are smooth anyway) and
    # interpolated; noise is added at full resolution.
    down = 8
    cw, ch = width // down, height // down
    canvas = np.zeros((ch, cw), np.float32)
    bone = np.zeros((ch, cw), np.float32)
    top, bottom = 0.10 * height, 0.93 * height
    bone_half = 0.035 * width
    points = []
    for side, cx in ((-1, 0.30), (1, 0.70)):
        cx = (cx + rng.uniform(-0.02, 0.02)) * width
        tilt = rng.uniform(-0.03, 0.03) * width
        knee_y = top + rng.uniform(0.44, 0.48) * (bottom - top)

        def at(fx, fy):
            # Lateral is away from the midline; the leg axis tilts slightly.
            return (cx - side * fx * bone_half + tilt * fy, top + fy * (bottom - top))

        def c(p):
            return tuple(int(round(v / down)) for v in p)

        leg = [at(*p) for p in _LEG_POINTS]
        leg[4] = (leg[4][0], knee_y)
        leg[5] = (leg[5][0], knee_y)
        points.append(leg)
        # Soft tissue: a tapered band from thigh to ankle.
        thigh, calf = 3.2 * bone_half, 2.0 * bone_half
        band = np.array([at(-thigh / bone_half, 0.0), at(thigh / bone_half, 0.0),
                         at(calf / bone_half, 1.0), at(-calf / bone_half, 1.0)])
        cv2.fillPoly(canvas, [np.round(band / down).astype(np.int32)], 0.35)
        # Femur, tibia and fibula shafts; femoral head; condyles.
        thick = max(1, int(round(1.4 * bone_half / down)))
        cv2.line(bone, c(leg[2]), c((leg[6][0], knee_y - 0.01 * height)), 0.6, thick)
        cv2.line(bone, c((leg[8][0] * 0.5 + leg[7][0] * 0.5, knee_y + 0.012 * height)),
                 c(leg[12]), 0.6, max(1, int(thick * 0.9)))
        cv2.line(bone, c((leg[7][0], knee_y + 0.03 * height)), c(leg[10]), 0.45,
                 max(1, thick // 3))
        cv2.circle(bone, c(leg[0]), int(1.2 * bone_half / down), 0.7, -1)
        cv2.ellipse(bone, c((leg[6][0], knee_y - 0.01 * height)),
                    (int(1.0 * bone_half / down), int(0.5 * bone_half / down)), 0, 0, 360,
                    0.65, -1)
        cv2.ellipse(bone, c((leg[6][0], knee_y + 0.02 * height)),
                    (int(0.95 * bone_half / down), int(0.35 * bone_half / down)), 0, 0, 360,
                    0.65, -1)
    # Pelvis: a thick arc over both hips.
    cv2.ellipse(bone, (cw // 2, int(0.06 * height / down)), (int(0.36 * cw), int(0.05 * ch)),
                0, 0, 180, 0.5, max(2, int(0.02 * width / down)))
    canvas = cv2.GaussianBlur(canvas + bone, (0, 0), 1.5)
    ys, xs = np.mgrid[0:ch, 0:cw].astype(np.float32)
    canvas += np.float32(rng.uniform(0.03, 0.08)) + np.float32(0.05) * ys / ch \
        + np.float32(rng.uniform(-0.04, 0.04)) * xs / cw
    img = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_LINEAR)
    img += rng.normal(0.0, 0.008, img.shape).astype(np.float32)
    # A 12-bit detector stored in 16-bit PNGs, as many DR systems write them.
    img = np.clip(600.0 + img * 3000.0, 0, 4095).astype(np.uint16)
    kpts = np.asarray(points, np.float64).reshape(-1, 2)
    kpts = np.clip(kpts, 4.0, [width - 5.0, height - 5.0])
    return img, kpts


def write_leg_set(root, num_images, size, seed=0):
    """Write a synthetic full-leg set in the MedSapiens release layout.

    ``root/Images/leg_XXXX.png`` (16-bit; ``file_name`` without the folder),
    ``root/leg_meta_json/<image id>_meta.json`` (``ID``, ``spacing`` as
    (row, col)), and ``root/leg_coco_train_annotations.json`` without
    per-image spacing.

    Args:
        root (str): Output folder.
        num_images (int): Number of images.
        size (tuple[int, int]): ``(width, height)``.
        seed (int): Random seed.

    Returns:
        str: Path of the annotation file.
    """
    from mmpose_medsapiens.datasets import LegXrayDataset, make_coco, write_coco

    rng = np.random.default_rng(seed)
    width, height = size
    os.makedirs(osp.join(root, 'Images'), exist_ok=True)
    os.makedirs(osp.join(root, 'leg_meta_json'), exist_ok=True)
    images, keypoints = [], []
    for i in range(num_images):
        stem, img_id = f'leg_{i:04d}', i + 1
        img, kpts = draw_leg_radiograph(rng, width, height)
        assert cv2.imwrite(osp.join(root, 'Images', f'{stem}.png'), img)
        spacing = round(float(rng.uniform(*SPACING_RANGE)), 4)
        with open(osp.join(root, 'leg_meta_json', f'{img_id}_meta.json'), 'w') as f:
            json.dump(dict(ID=str(img_id), spacing=[spacing, spacing],
                           original_shape=[height, width]), f)
        images.append(dict(id=img_id, file_name=f'{stem}.png', width=width, height=height))
        keypoints.append(kpts)
    names = [info['name'] for info in LegXrayDataset.METAINFO['keypoint_info'].values()]
    return write_coco(make_coco(images, keypoints, 'legs', names), osp.join(root, ANN_NAME))


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
    parser = _common.base_parser(__doc__.splitlines()[0])
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
    import mmpose_medsapiens  # noqa: F401  (registers datasets and transforms)
    from mmengine.config import Config
    from mmengine.dataset import Compose

    from mmpose.registry import DATASETS, TRANSFORMS
    from mmpose_medsapiens.datasets import build_working_resolution_cache

    cv2.setNumThreads(args.threads)
    num_images = args.num_images or (2 if args.quick else 6)
    repeats = args.repeats or (1 if args.quick else 3)
    size = QUICK_SIZE if args.quick else FULL_SIZE

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
            return DATASETS.build(dict(type=train_ds.type, data_root=root + '/', ann_file=ANN_NAME,
                                       data_prefix=dict(img='Images/'), pipeline=[]))

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
            got = _common.time_interleaved({n: functools.partial(run, n, k) for n in order},
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

    base = _common.median(times['(i) LoadImage'])
    rows = []
    for name, (ds, _) in variants.items():
        width, height = (int(v) for v in ds.get_data_info(0)['raw_ann_info']['bbox'][2:])
        med = _common.median(times[name])
        rows.append(dict(variant=name, image=f'{width}x{height}',
                         ms_per_sample=1e3 * med, samples_per_s=1.0 / med,
                         speedup_vs_i=base / med, max_landmark_diff_mm=max_mm[name],
                         max_heatmap_diff=max_heat[name]))
    title = (f'{NAME}: {num_images} images {size[0]}x{size[1]} 16-bit, {repeats} passes, '
             f'median per sample ({len(times[reference])} samples per variant)')
    _common.print_table(rows, list(rows[0]), title)
    speedup = rows[2]['speedup_vs_i']
    worst_mm = max(max_mm.values())
    print(f'cache build: {summary["seconds"]:.2f} s for {summary["num_images"]} images '
          f'({summary["seconds"] / summary["num_images"]:.2f} s/image, scale '
          f'{summary["scale_min"]:.4f}-{summary["scale_max"]:.4f}); synthetic set: '
          f'{gen_s:.1f} s; timing: {bench_s:.1f} s')
    met = speedup >= MIN_SPEEDUP and worst_mm < MAX_LANDMARK_DIFF_MM
    print(f'GOAL {"MET" if met else "MISSED"}: (iii) {speedup:.2f}x the samples/s of (i) '
          f'(goal >= {MIN_SPEEDUP:g}x); max landmark difference {worst_mm:.2e} mm '
          f'(goal < {MAX_LANDMARK_DIFF_MM:g} mm)')
    results = dict(
        variants=rows, speedup_cache_vs_loadimage=speedup, max_landmark_diff_mm=worst_mm,
        goal_met=met, cache_build_s=summary['seconds'],
        cache_build_s_per_image=summary['seconds'] / summary['num_images'],
        cache_scale=[summary['scale_min'], summary['scale_max']],
        cache_sizes=[list(s) for s in summary['sizes']], synthetic_set_s=gen_s,
        timing_s=bench_s, times_s={k: v for k, v in times.items()})
    settings = dict(config=osp.relpath(CONFIG, _common.REPO_ROOT), quick=args.quick,
                    num_images=num_images, repeats=repeats, image_size=list(size),
                    input_size=list(affine['input_size']), use_udp=use_udp, padding=padding,
                    seed=args.seed,
                    opencv_threads=args.threads)
    _common.write_json(args.out_dir, NAME, settings, results)
    return results


if __name__ == '__main__':
    main()
