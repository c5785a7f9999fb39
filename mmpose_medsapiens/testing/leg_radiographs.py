"""Synthetic full-leg radiographs in the MedSapiens release layout.

Big 16-bit films (2396 x 5628 in the release) with 26 landmarks, for the
benchmarks of the data path (``tools/benchmarks/data_pipeline_throughput.py``,
``gpu_benchmark.py``): their cost is in decoding and warping images of that
size, which a small synthetic set would not show.
"""
import json
import os
import os.path as osp

import cv2
import numpy as np

from ..conversion.coco_landmarks import make_coco, write_coco
from ..datasets.xray_datasets import LEG_NAMES

#: ``(w, h)`` of the MedSapiens full-leg radiographs.
LEG_FULL_SIZE = (2396, 5628)
#: Per-image spacing drawn for the synthetic films (mm), as in the release.
LEG_SPACING_RANGE = (0.139, 0.155)
#: The annotation file the leg configs read.
LEG_ANN_NAME = 'leg_coco_train_annotations.json'

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
    rng = np.random.default_rng(seed)
    width, height = size
    os.makedirs(osp.join(root, 'Images'), exist_ok=True)
    os.makedirs(osp.join(root, 'leg_meta_json'), exist_ok=True)
    images, keypoints = [], []
    for i in range(num_images):
        stem, img_id = f'leg_{i:04d}', i + 1
        img, kpts = draw_leg_radiograph(rng, width, height)
        if not cv2.imwrite(osp.join(root, 'Images', f'{stem}.png'), img):
            raise RuntimeError(f'failed to write {stem}.png under {root}/Images')
        spacing = round(float(rng.uniform(*LEG_SPACING_RANGE)), 4)
        with open(osp.join(root, 'leg_meta_json', f'{img_id}_meta.json'), 'w') as f:
            json.dump(dict(ID=str(img_id), spacing=[spacing, spacing],
                           original_shape=[height, width]), f)
        images.append(dict(id=img_id, file_name=f'{stem}.png', width=width, height=height))
        keypoints.append(kpts)
    return write_coco(make_coco(images, keypoints, 'legs', LEG_NAMES),
                      osp.join(root, LEG_ANN_NAME))
