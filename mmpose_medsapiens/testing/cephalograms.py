"""Procedural generator of a small synthetic cephalogram-like dataset.

The generator draws a stylised lateral skull X-ray (face to the right) and
annotates ``K = 10`` landmarks that sit on well-defined geometric points of
the drawn anatomy: centres, extreme points, corners and junctions of the
cranium, orbit, sella, ear rod, palate, incisor and mandible. It needs only
numpy and OpenCV, so demos and tests can run without downloading any real
data.

Every image gets a random pose (rotation, translation, isotropic scale),
a small per-landmark shape variation, a random appearance (tissue
brightness, background level, gamma), a smooth low-frequency background
gradient, a slight blur and Gaussian noise. Background is dark and bone is
bright, as in an X-ray.

Coordinates follow the COCO / MMPose convention: pixel centres lie at
integer coordinates, ``x`` points right and ``y`` points down.

Example:
    >>> from mmpose_medsapiens.testing import \
    ...     generate_synthetic_dataset
    >>> info = generate_synthetic_dataset('data/synthetic_ceph', seed=0)
    >>> info['train']
    'data/synthetic_ceph/synthetic_ceph_coco_train_annotations.json'
"""
import os

import cv2
import numpy as np

from ..conversion.coco_landmarks import make_coco, write_coco
from ..conversion.release_layout import IMAGES_DIR, annotation_file
from ..datasets.synthetic_ceph_dataset import SYNTHETIC_LANDMARK_NAMES

SYNTHETIC_CATEGORY_NAME = 'synthetic_ceph'
#: File prefix of the annotation files: ``synthetic_ceph_coco_<split>_annotations.json``.
SYNTHETIC_SET_NAME = 'synthetic_ceph'
SYNTHETIC_SPACING_RANGE = (0.4, 0.6)
SPLITS = ('train', 'val', 'test')

# The anatomy is designed on a 256 x 320 reference canvas. ``_DESIGN_CENTER``
# is the design point mapped to the image centre and ``_DESIGN_SCALE``
# shrinks the design so that the landmarks survive the random pose.
_REF_WIDTH, _REF_HEIGHT = 256, 320
_DESIGN_CENTER = np.array([5.0, 60.0])
_DESIGN_SCALE = 0.8
# Keep landmarks this many (reference) pixels away from the border.
_BORDER_MARGIN = 4.0
_MAX_POSE_TRIES = 100

# Shared drawing settings: 4 fractional bits give sub-pixel accuracy, so the
# drawn structures and the float landmark coordinates agree to ~1/16 px.
_SHIFT = 4
_SHIFT_MUL = float(1 << _SHIFT)


def _ellipse(center, a, b, angle_deg=0.0, t0=0.0, t1=360.0, n=96):
    """Sample points on an (arc of an) ellipse in design coordinates.

    ``t`` is the parametric angle in degrees; ``t = 90`` is the bottom of an
    unrotated ellipse because ``y`` points down.

    Args:
        center (array-like): Ellipse centre ``(x, y)``.
        a (float): Semi-axis along the (rotated) x direction.
        b (float): Semi-axis along the (rotated) y direction.
        angle_deg (float): Clockwise rotation of the ellipse in degrees.
        t0 (float): First parametric angle in degrees.
        t1 (float): Last parametric angle in degrees.
        n (int): Number of points.

    Returns:
        np.ndarray: Points of shape ``(n, 2)``.
    """
    t = np.deg2rad(np.linspace(t0, t1, n))
    pts = np.stack([a * np.cos(t), b * np.sin(t)], axis=1)
    return pts @ _rotation(angle_deg).T + np.asarray(center, np.float64)


def _rotation(angle_deg):
    """2x2 rotation matrix, clockwise on screen for positive angles."""
    r = np.deg2rad(angle_deg)
    c, s = np.cos(r), np.sin(r)
    return np.array([[c, -s], [s, c]])


def _sample_anatomy(rng):
    """Sample the jittered anatomy in design coordinates.

    The landmarks are derived from the very geometry that is drawn, so each
    landmark stays on its structure whatever the shape variation.

    Args:
        rng (np.random.Generator): Random generator.

    Returns:
        tuple[dict, np.ndarray]: The anatomy (named point sets and
        parameters) and the ``(K, 2)`` landmarks in design coordinates.
    """

    def jit(sigma=1.5, size=2, clip=4.0):
        # A few pixels of shape variation, clipped to avoid outliers.
        return np.clip(rng.normal(0.0, sigma, size), -clip, clip)

    def pt(x, y, sigma=1.5):
        return np.array([x, y], np.float64) + jit(sigma)

    anat = {}
    # Calvaria: thick elliptical bone band from the occiput over the vertex
    # down to the nasion (the cranial base is drawn separately below).
    cr_c = pt(-20.0, -60.0, 2.0)
    cr_a = 112.0 + jit(2.0, 1)[0]
    cr_b = 96.0 + jit(2.0, 1)[0]
    cr_ang = 8.0 + jit(1.5, 1)[0]
    cr_th = 9.0 + jit(0.7, 1, 1.5)[0]
    t_n = 24.0 + jit(1.5, 1)[0]
    t_occ = -215.0 + jit(2.0, 1)[0]
    outer = _ellipse(cr_c, cr_a, cr_b, cr_ang, t_occ, t_n, 96)
    inner = _ellipse(cr_c, cr_a - cr_th, cr_b - cr_th, cr_ang, t_occ, t_n, 96)
    anat['calvaria'] = np.concatenate([outer, inner[::-1]])
    anat['brain'] = inner
    # Nasion: anterior-inferior corner of the outer table, where the nasal
    # bone starts.
    nasion = outer[-1]
    nasal_dir = np.array([0.5, 1.0]) + jit(0.06, 2, 0.15)
    anat['nasal'] = np.stack(
        [nasion, nasion + 32.0 * nasal_dir / np.linalg.norm(nasal_dir)])

    # Orbit: thin elliptical rim; orbitale is its lowest point.
    or_c = pt(49.0, 2.0, 1.5)
    or_a = 18.0 + jit(1.0, 1, 2.5)[0]
    or_b = 22.0 + jit(1.0, 1, 2.5)[0]
    anat['orbit'] = _ellipse(or_c, or_a, or_b, n=64)
    orbitale = or_c + np.array([0.0, or_b])

    # Sella turcica: U-shaped cup opening upwards, continued by the
    # dorsum sellae behind and the planum sphenoidale in front.
    s_c = pt(-52.0, -18.0, 1.5)
    s_r = 10.0 + jit(0.6, 1, 1.5)[0]
    cup = _ellipse(s_c, s_r, s_r, 0.0, -15.0, 195.0, 40)[::-1]
    dorsum = s_c + np.array([-s_r - 1.0, -s_r - 5.0])
    tuberculum = s_c + np.array([s_r + 4.0, -s_r + 1.0])
    planum = pt(55.0, -34.0, 2.0)
    anat['sella'] = np.concatenate(
        [dorsum[None], cup, tuberculum[None], planum[None]])
    anat['clivus'] = np.stack([
        s_c + np.array([-s_r - 2.0, -2.0]),
        s_c + np.array([-s_r + 6.0, 4.0]),
        pt(-54.0, 40.0, 2.0),
        pt(-66.0, 38.0, 2.0),
    ])

    # Ear rod: bright ring; porion is its top point.
    po_c = pt(-88.0, 24.0, 1.5)
    po_r = 8.0 + jit(0.5, 1, 1.0)[0]
    anat['ear_rod'] = _ellipse(po_c, po_r, po_r, n=48)
    porion = po_c + np.array([0.0, -po_r])

    # Palate: bar from the posterior to the anterior nasal spine, both of
    # which are polygon vertices (spine tips).
    ans = pt(92.0, 52.0)
    pns = pt(8.0, 58.0)
    anat['palate'] = np.stack([
        pns,
        pns + np.array([18.0, -5.0]),
        ans + np.array([-22.0, -2.0]),
        ans,
        ans + np.array([-16.0, 8.0]),
        np.array([45.0, 65.0]) + jit(1.0),
        pns + np.array([16.0, 6.0]),
    ])
    anat['maxilla'] = np.stack([
        pns + np.array([-4.0, 6.0]),
        ans + np.array([-10.0, 4.0]),
        pt(82.0, 72.0),
        pt(88.0, 96.0),
        pt(18.0, 98.0),
        pt(2.0, 76.0),
    ])

    # Upper incisor: tapered tooth whose incisal tip is a polygon vertex.
    uit = pt(98.0, 112.0)
    anat['upper_incisor'] = _tooth_polygon(pt(78.0, 60.0), uit, 4.6)
    anat['lower_incisor'] = _tooth_polygon(
        pt(72.0, 140.0), uit + np.array([-7.0, -6.0]) + jit(0.8), 4.0)

    # Premolars and molars along a slightly tilted occlusal line.
    occ0 = 104.0 + jit(1.0, 1)[0]
    upper, lower = [], []
    for xc in (26.0, 41.0, 55.0, 68.0):
        xc += jit(0.8, 1)[0]
        y_occ = occ0 - 0.04 * (xc - 26.0)
        upper.append(_molar(xc, y_occ, upward=True))
        lower.append(_molar(xc, y_occ + 2.0, upward=False))
    anat['upper_teeth'] = upper
    anat['lower_teeth'] = lower

    # Mandible: gonion, menton and pogonion are corners of the outline.
    menton = pt(70.0, 154.0)
    gonion = pt(-58.0, 124.0)
    pogonion = pt(90.0, 137.0)
    anat['mandible'] = np.stack([
        pt(-66.0, 38.0),  # condyle
        pt(-52.0, 42.0),
        pt(-40.0, 52.0),  # sigmoid notch
        pt(-24.0, 36.0),  # coronoid process
        pt(-12.0, 84.0),
        pt(10.0, 110.0),
        pt(60.0, 112.0),
        pt(86.0, 108.0),  # infradentale
        pt(81.0, 122.0),  # B point
        pogonion,
        pt(85.0, 149.0),
        menton,
        pt(20.0, 146.0),
        pt(-28.0, 136.0),  # antegonial notch
        gonion,
        pt(-66.0, 80.0),
    ])
    anat['condyle'] = (pt(-63.0, 36.0, 1.0), 8.0)

    # Cervical vertebrae (behind the ramus) and soft tissue.
    anat['vertebrae'] = [
        np.array([[-114.0, yc - 13.0], [-86.0, yc - 15.0],
                  [-84.0, yc + 13.0], [-112.0, yc + 15.0]]) + jit(1.0)
        for yc in (80.0, 118.0, 156.0, 194.0)
    ]
    anat['head'] = _ellipse(cr_c, cr_a + 14.0, cr_b + 14.0, cr_ang)
    anat['face'] = np.array([
        [40.0, -110.0], [96.0, -50.0], [100.0, -22.0], [108.0, -4.0],
        [136.0, 28.0], [130.0, 40.0], [110.0, 48.0], [114.0, 60.0],
        [119.0, 86.0], [108.0, 106.0], [116.0, 124.0], [104.0, 140.0],
        [110.0, 158.0], [94.0, 178.0], [50.0, 184.0], [12.0, 192.0],
        [2.0, 400.0], [-150.0, 400.0], [-150.0, -60.0]
    ]) + jit(1.5, (19, 2))

    keypoints = np.stack([
        s_c, nasion, orbitale, porion, ans, pns, uit, menton, gonion,
        pogonion
    ])
    return anat, keypoints


def _tooth_polygon(apex, tip, half_width):
    """Tapered single-rooted tooth from root apex to a pointed tip.

    Args:
        apex (np.ndarray): Root apex ``(x, y)``.
        tip (np.ndarray): Incisal tip ``(x, y)``, kept as a vertex.
        half_width (float): Half width of the crown.

    Returns:
        np.ndarray: Polygon of shape ``(7, 2)``.
    """
    axis = tip - apex
    length = np.linalg.norm(axis)
    d = axis / length
    n = np.array([-d[1], d[0]])
    w = half_width
    return np.stack([
        apex - 1.2 * n,
        apex + 0.5 * length * d - 0.9 * w * n,
        tip - 9.0 * d - w * n,
        tip,
        tip - 6.0 * d + w * n,
        apex + 0.5 * length * d + 0.9 * w * n,
        apex + 1.2 * n,
    ])


def _molar(xc, y_occ, upward):
    """Crown rectangle and root polygon of a posterior tooth.

    Args:
        xc (float): Tooth centre x.
        y_occ (float): Occlusal surface y.
        upward (bool): Whether the root points up (upper jaw).

    Returns:
        tuple[np.ndarray, np.ndarray]: Crown and root polygons.
    """
    sgn = -1.0 if upward else 1.0
    crown = np.array([[xc - 6.0, y_occ], [xc + 6.0, y_occ],
                      [xc + 6.5, y_occ + sgn * 10.0],
                      [xc - 6.5, y_occ + sgn * 10.0]])
    root = np.array([[xc - 5.5, y_occ + sgn * 9.0],
                     [xc + 5.5, y_occ + sgn * 9.0],
                     [xc + 2.5, y_occ + sgn * 28.0],
                     [xc - 2.5, y_occ + sgn * 28.0]])
    return crown, root


def _sample_pose(rng, kpts, width, height):
    """Sample a similarity transform keeping all landmarks inside.

    Args:
        rng (np.random.Generator): Random generator.
        kpts (np.ndarray): ``(K, 2)`` landmarks in design coordinates.
        width (int): Image width.
        height (int): Image height.

    Returns:
        tuple[np.ndarray, np.ndarray, float]: Linear part ``A`` (2x2),
        offset ``b`` (2,) with ``p_img = A @ p_design + b``, and the total
        isotropic scale (image pixels per design unit).
    """
    fit = min(width / _REF_WIDTH, height / _REF_HEIGHT)
    img_c = np.array([(width - 1) / 2.0, (height - 1) / 2.0])
    margin = _BORDER_MARGIN * fit
    for _ in range(_MAX_POSE_TRIES):
        angle = rng.uniform(-15.0, 15.0)
        scale = rng.uniform(0.85, 1.15)
        shift = rng.uniform(-0.1, 0.1, 2) * np.array([width, height])
        total = scale * _DESIGN_SCALE * fit
        lin = total * _rotation(angle)
        off = img_c + shift - lin @ _DESIGN_CENTER
        pts = kpts @ lin.T + off
        if (pts.min() >= margin and pts[:, 0].max() <= width - 1 - margin
                and pts[:, 1].max() <= height - 1 - margin):
            return lin, off, total
    # Fall back to the canonical pose, which is well inside by design.
    total = _DESIGN_SCALE * fit
    lin = total * np.eye(2)
    return lin, img_c - lin @ _DESIGN_CENTER, total


class _Layer:
    """Anti-aliased uint8 mask of one tissue type, drawn in image space.

    Args:
        shape (tuple[int, int]): ``(height, width)`` of the image.
        lin (np.ndarray): 2x2 linear part of the design-to-image transform.
        off (np.ndarray): Offset of the design-to-image transform.
        scale (float): Image pixels per design unit (for line widths).
    """

    def __init__(self, shape, lin, off, scale):
        self.mask = np.zeros(shape, np.uint8)
        self.lin, self.off, self.scale = lin, off, scale

    def _pts(self, pts):
        img_pts = np.asarray(pts, np.float64) @ self.lin.T + self.off
        return np.round(img_pts * _SHIFT_MUL).astype(np.int32)[:, None]

    def fill(self, pts):
        cv2.fillPoly(self.mask, [self._pts(pts)], 255, cv2.LINE_AA, _SHIFT)

    def line(self, pts, width, closed=False):
        thickness = max(1, int(round(width * self.scale)))
        cv2.polylines(self.mask, [self._pts(pts)], closed, 255, thickness,
                      cv2.LINE_AA, _SHIFT)


def _render(rng, anat, lin, off, scale, width, height):
    """Render the anatomy with a random X-ray-like appearance.

    Args:
        rng (np.random.Generator): Random generator.
        anat (dict): Anatomy from :func:`_sample_anatomy`.
        lin (np.ndarray): 2x2 linear part of the design-to-image transform.
        off (np.ndarray): Offset of the design-to-image transform.
        scale (float): Image pixels per design unit.
        width (int): Image width.
        height (int): Image height.

    Returns:
        np.ndarray: uint8 image of shape ``(height, width)``.
    """
    shape = (height, width)

    def layer():
        return _Layer(shape, lin, off, scale)

    soft, brain, spongy, cortex, dentin, enamel = (layer() for _ in range(6))

    soft.fill(anat['head'])
    soft.fill(anat['face'])
    brain.fill(anat['brain'])

    spongy.fill(anat['maxilla'])
    spongy.fill(anat['mandible'])
    spongy.fill(_ellipse(anat['condyle'][0], anat['condyle'][1],
                         anat['condyle'][1] * 0.8, -20.0, n=32))
    spongy.fill(anat['clivus'])
    for vert in anat['vertebrae']:
        spongy.fill(vert)

    cortex.fill(anat['calvaria'])
    cortex.line(anat['nasal'], 3.5)
    cortex.line(anat['orbit'], 3.5, closed=True)
    cortex.line(anat['sella'], 3.0)
    cortex.fill(anat['palate'])
    cortex.line(anat['mandible'], 3.0, closed=True)
    for vert in anat['vertebrae']:
        cortex.line(vert, 2.0, closed=True)

    dentin.fill(anat['upper_incisor'])
    dentin.fill(anat['lower_incisor'])
    for crown, root in anat['upper_teeth'] + anat['lower_teeth']:
        dentin.fill(root)
        enamel.fill(crown)
    enamel.line(anat['ear_rod'], 2.5, closed=True)

    # X-ray attenuation adds up along the beam, hence an additive model.
    cortex_w = rng.uniform(0.45, 0.65)
    weights = (
        (soft, rng.uniform(0.08, 0.16)),
        (brain, rng.uniform(0.03, 0.08)),
        (spongy, rng.uniform(0.12, 0.22)),
        (cortex, cortex_w),
        (dentin, rng.uniform(0.35, 0.5)),
        (enamel, cortex_w + rng.uniform(0.05, 0.15)),
    )
    img = np.zeros(shape, np.float32)
    for lay, w in weights:
        img += np.float32(w / 255.0) * lay.mask

    # Finite focal spot / detector blur.
    sigma = rng.uniform(0.5, 1.1) * scale / _DESIGN_SCALE
    img = cv2.GaussianBlur(img, (0, 0), sigma)

    # Background level plus a smooth exposure gradient.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    grad = rng.uniform(-0.08, 0.08, 2)
    low = rng.normal(0.0, 1.0, (4, 5)).astype(np.float32)
    low = cv2.resize(low * np.float32(rng.uniform(0.01, 0.04)),
                     (width, height), interpolation=cv2.INTER_CUBIC)
    img += np.float32(rng.uniform(0.03, 0.12))
    img += np.float32(grad[0]) * (xs / width - 0.5)
    img += np.float32(grad[1]) * (ys / height - 0.5)
    img += low

    gamma = rng.uniform(0.8, 1.25)
    img = np.clip(img, 0.0, 1.0)**np.float32(gamma)
    noise = rng.normal(0.0, rng.uniform(0.01, 0.03), shape)
    img = img + noise.astype(np.float32)
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def draw_synthetic_sample(rng, width=_REF_WIDTH, height=_REF_HEIGHT):
    """Draw one synthetic cephalogram-like image with its landmarks.

    Args:
        rng (np.random.Generator | int): Random generator, or a seed used to
            create one.
        width (int): Image width in pixels. Defaults to 256.
        height (int): Image height in pixels. Defaults to 320.

    Returns:
        tuple[np.ndarray, np.ndarray]: The uint8 image of shape
        ``(height, width)`` and the landmarks as float32 ``(K, 2)`` array of
        ``(x, y)`` pixel coordinates, ordered as
        :data:`SYNTHETIC_LANDMARK_NAMES`.
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    width, height = int(width), int(height)
    if width < 32 or height < 32:
        raise ValueError(f'image size must be at least 32x32, got '
                         f'{width}x{height}')
    anat, kpts = _sample_anatomy(rng)
    lin, off, scale = _sample_pose(rng, kpts, width, height)
    image = _render(rng, anat, lin, off, scale, width, height)
    keypoints = (kpts @ lin.T + off).astype(np.float32)
    return image, keypoints


def _sample_rng(seed, split_idx, index):
    # One independent stream per image: changing the number of images of one
    # split leaves every other image unchanged.
    return np.random.default_rng(np.random.SeedSequence([seed, split_idx,
                                                         index]))


def generate_synthetic_dataset(out_dir,
                               num_train=160,
                               num_val=20,
                               num_test=20,
                               width=_REF_WIDTH,
                               height=_REF_HEIGHT,
                               seed=0):
    """Write a synthetic landmark dataset in the MedSapiens release layout.

    Layout (the one every converted set has, read with
    ``data_prefix=dict(img='Images/')``)::

        out_dir/
            Images/{split}_{index:04d}.png
            synthetic_ceph_coco_{train,val,test}_annotations.json

    Each COCO keypoint JSON holds ``images`` (``id``, ``file_name`` relative
    to ``Images/``, ``height``, ``width``, ``spacing`` as ``[sx, sy]`` in mm),
    ``annotations`` (one per image, all keypoints visible) and a single
    category ``synthetic_ceph``. Image ids are unique across the splits.
    The same arguments always produce byte-identical files.

    Args:
        out_dir (str): Output directory, created if missing.
        num_train (int): Number of training images. Defaults to 160.
        num_val (int): Number of validation images. Defaults to 20.
        num_test (int): Number of test images. Defaults to 20.
        width (int): Image width in pixels. Defaults to 256.
        height (int): Image height in pixels. Defaults to 320.
        seed (int): Non-negative random seed. Defaults to 0.

    Returns:
        dict: ``'train'``, ``'val'`` and ``'test'``: the path of each split's
        JSON file; ``'num_images'``: image count of each split;
        ``'num_keypoints'``: K; ``'out_dir'``: ``out_dir``.
    """
    counts = dict(train=int(num_train), val=int(num_val), test=int(num_test))
    width, height = int(width), int(height)
    if any(n < 0 for n in counts.values()):
        raise ValueError(f'image counts must be non-negative, got {counts}')
    if int(seed) < 0:
        raise ValueError(f'seed must be non-negative, got {seed}')
    img_dir = os.path.join(out_dir, IMAGES_DIR)
    os.makedirs(img_dir, exist_ok=True)

    num_kpts = len(SYNTHETIC_LANDMARK_NAMES)
    ann_files = {}
    next_id = 1  # image ids unique across the splits
    for split_idx, split in enumerate(SPLITS):
        images, keypoints = [], []
        for index in range(counts[split]):
            rng = _sample_rng(int(seed), split_idx, index)
            image, kpts = draw_synthetic_sample(rng, width, height)
            spacing = round(float(rng.uniform(*SYNTHETIC_SPACING_RANGE)), 4)
            file_name = f'{split}_{index:04d}.png'
            ok, buf = cv2.imencode('.png', image)
            if not ok:
                raise RuntimeError(f'failed to encode {file_name}')
            with open(os.path.join(img_dir, file_name), 'wb') as f:
                f.write(buf.tobytes())
            images.append(dict(id=next_id, file_name=file_name, height=height, width=width,
                               spacing=[spacing, spacing]))
            keypoints.append(np.round(kpts, 3))
            next_id += 1
        coco = make_coco(images, keypoints, SYNTHETIC_CATEGORY_NAME, SYNTHETIC_LANDMARK_NAMES)
        # Generated data: a rerun with the same arguments rewrites the same bytes.
        ann_files[split] = write_coco(coco, annotation_file(out_dir, SYNTHETIC_SET_NAME, split),
                                      overwrite=True)

    return dict(
        **ann_files,
        out_dir=out_dir,
        num_images=counts,
        num_keypoints=num_kpts)
