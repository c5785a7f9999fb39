"""Precision limit of the label -> heatmap target -> decoded landmark round trip.

A perfect network outputs exactly the heatmaps it was trained on, so encoding
ground-truth landmarks and decoding them again gives the smallest error any
model trained with a config can reach (the physical limit is 0). For every
``configs/*.py`` and every data set geometry it covers, synthetic landmarks
(fixed seed, inside the central 80% of a blank image of the real size) go
through MMPose's own transforms and codecs, built from the config:

``GetBBoxCenterScale`` (whole-image box) -> ``TopdownAffine`` ->
``GenerateTarget`` -> ``codec.decode`` -> original-image coordinates, mapped
back as ``TopdownPoseEstimator.add_pred_to_datasample`` does.

Each config gets two rows per geometry: without flip test, and with the flip
test of its ``model.test_cfg`` (``flip_mode``/``shift_heatmap``, MMPose's
defaults where the config does not flip): the input-space landmarks are
flipped as ``RandomFlip`` flips them for an image of the input size (what the
network sees in ``inputs.flip(-1)``), encoded, flipped back with
``flip_heatmaps`` and averaged with the unflipped heatmaps, as
``HeatmapHead.predict`` does. The row marked ``test.py`` is the one that
``tools/test.py`` runs. Errors are radial errors in the data set's unit
(``radial_errors`` of ``MedicalLandmarkMetric``: mm, px@512 for chest, the
50 mm wrist rule for hand); ``bias_x``/``bias_y`` are the mean signed errors
(prediction - truth) in input pixels. Configs whose transforms, codecs and
flip settings coincide share one measurement.

Reference rows at the head geometry (768x1024 input, 192x256 heatmaps, sigma
3) compare plain MSRA, DARK (``unbiased=True``) and UDP (with a UDP affine),
each without flip test, with it, and with it and ``shift_heatmap=True``.

Geometries (w x h, spacing): head 1935x2400 at 0.1 mm; hand 1600x2350 with
landmarks 1 and 5 about 300 px apart (wrist rule); chest 3000x2950 in
px@512; legs 2396x5628 at 0.155 mm; teeth 640x800 at 0.18 mm (a CBCT slice
size assumed here, no release size is known); the demo's synthetic
cephalograms 256x320 at 0.5 mm (the middle of its 0.4-0.6 mm range).

For each config the worst mean error among its ``test.py`` rows (the
config's own test-time flip setting) is summarised at the end.

Usage:
    python tools/benchmarks/decoding_precision.py [--quick] [--out-dir DIR]
"""
import glob
import json
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.models.utils.tta import flip_heatmaps
from mmpose.registry import DATASETS, KEYPOINT_CODECS, TRANSFORMS
from mmpose.structures.keypoint import flip_keypoints

import mmpose_medsapiens  # noqa: F401  (registers the datasets)
from mmpose_medsapiens.datasets import GENERALIST_METAINFO, to_generalist
from mmpose_medsapiens.evaluation.functional import radial_errors
from mmpose_medsapiens.testing import base_parser, print_table, write_json

NAME = 'decoding_precision'
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs')

# Image size (w, h), pixel spacing (None: the dataset class default) and seed
# of the synthetic landmarks, per dataset class.
GEOMETRIES = {
    'ISBI2015HeadDataset': dict(name='head', size=(1935, 2400), spacing=None, seed=1),
    'HandXrayDataset': dict(name='hand', size=(1600, 2350), spacing=None, seed=2),
    'ChestXrayDataset': dict(name='chest', size=(3000, 2950), spacing=None, seed=3),
    'LegXrayDataset': dict(name='legs', size=(2396, 5628), spacing=(0.155, 0.155), seed=4),
    'DentalCBCTDataset': dict(name='teeth', size=(640, 800), spacing=None, seed=5),
    'SyntheticCephDataset': dict(name='synthetic', size=(256, 320), spacing=(0.5, 0.5),
                                 seed=6),
    # Representative sizes: an Aariz ART Plus film (0.1 mm, the release CSV), an
    # ISBI-sized CL-Detection slice after its padding is cut, a 1024x768 PLAX frame.
    'AarizDataset': dict(name='aariz', size=(1968, 2225), spacing=(0.1, 0.1), seed=7),
    'CLDetection2023Dataset': dict(name='cldetection2023', size=(1935, 2400),
                                   spacing=(0.1, 0.1), seed=8),
    'EchoNetLVHDataset': dict(name='echonet_lvh', size=(1024, 768), spacing=(0.25, 0.25),
                              seed=9),
}
GENERALIST = 'MedSapiensGeneralistDataset'
# Physical-looking distance of the hand's wrist-rule landmarks 1 and 5.
HAND_PAIR_PX = 300.0

REFERENCE_INPUT = (768, 1024)
REFERENCE_HEATMAP = (192, 256)
REFERENCE_CODECS = {
    'MSRA plain': (dict(type='MSRAHeatmap', sigma=3, unbiased=False), False),
    'MSRA unbiased': (dict(type='MSRAHeatmap', sigma=3, unbiased=True), False),
    'UDP': (dict(type='UDPHeatmap', sigma=3), True),
}
REFERENCE_FLIPS = {
    'off': dict(flip_test=False),
    'heatmap': dict(flip_test=True, flip_mode='heatmap', shift_heatmap=False),
    'heatmap+shift': dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True),
}

COLUMNS = ('config', 'dataset', 'codec', 'affine', 'flip', 'test.py', 'points', 'unit',
           'mean', 'max', 'bias_x', 'bias_y')


def get_settings(quick: bool) -> dict:
    """Number of synthetic images per geometry of a full or ``--quick`` run."""
    return dict(num_images=3 if quick else 50, central_fraction=0.8,
                geometries={k: dict(v) for k, v in GEOMETRIES.items()},
                hand_pair_px=HAND_PAIR_PX)


# ------------------------------------------------------------------ helpers
def _find_step(pipeline: Sequence[dict], type_name: str) -> Optional[dict]:
    """The first ``type_name`` step of a pipeline, as a plain dict."""
    steps = [step for step in pipeline if step['type'] == type_name]
    return ConfigDict(steps[0]).to_dict() if steps else None


def _dataset_class(type_name: str):
    cls = DATASETS.get(type_name)
    if cls is None:
        raise KeyError(f'dataset type {type_name} is not registered')
    return cls


def _calibration(cls, width: int, height: int, spacing) -> dict:
    """The calibration the dataset class attaches to a W x H image.

    Args:
        cls (type): A :class:`MedicalLandmarkDataset` subclass.
        width (int): Image width in pixels.
        height (int): Image height in pixels.
        spacing (tuple, optional): The image entry's ``spacing`` (x, y);
            None for the class default.
    """
    img = dict(id=0, width=width, height=height)
    if spacing is not None:
        img['spacing'] = spacing
    return cls.for_calibration().calibration(img).as_dict()


def _synthetic_landmarks(geometry: dict, num_landmarks: int, num_images: int,
                         central_fraction: float, hand_pair: bool) -> np.ndarray:
    """Fixed-seed landmarks (N, K, 2) inside the central part of the image.

    Args:
        geometry (dict): ``size`` (w, h) and ``seed``.
        num_landmarks (int): K.
        num_images (int): N.
        central_fraction (float): Side fraction of the centred sampling box.
        hand_pair (bool): Put landmarks 1 and 5 ``HAND_PAIR_PX`` apart, as
            the hand's 50 mm wrist rule expects.
    """
    w, h = geometry['size']
    rng = np.random.default_rng(geometry['seed'])
    margin = 0.5 * (1.0 - central_fraction)
    lo, hi = np.array([margin * w, margin * h]), np.array([(1 - margin) * w, (1 - margin) * h])
    kpts = rng.uniform(lo, hi, size=(num_images, num_landmarks, 2))
    if hand_pair:
        # Landmark 1 near the middle so that landmark 5 stays in the image.
        kpts[:, 1] = rng.uniform([0.3 * w, 0.3 * h], [0.7 * w, 0.7 * h], size=(num_images, 2))
        angle = rng.uniform(0, 2 * np.pi, size=num_images)
        kpts[:, 5] = kpts[:, 1] + HAND_PAIR_PX * np.stack([np.cos(angle), np.sin(angle)], -1)
    # The datasets hold keypoints as float32.
    return kpts.astype(np.float32)


def _codec_name(codec: dict) -> str:
    name = codec['type'].replace('Heatmap', '')
    name += f" s{codec.get('sigma', 2):g}"
    if codec['type'] == 'MSRAHeatmap' and codec.get('unbiased', False):
        name += ' DARK'
    return name


def _flip_name(test_cfg: dict) -> str:
    if not test_cfg.get('flip_test', False):
        return 'off'
    name = test_cfg.get('flip_mode', 'heatmap')
    return name + '+shift' if test_cfg.get('shift_heatmap', False) else name


# ------------------------------------------------------------ round trip
class RoundTrip:
    """MMPose's transforms and decoder of one setting, applied to landmarks.

    Args:
        padding (float): ``GetBBoxCenterScale`` padding.
        affine (dict): The ``TopdownAffine`` config.
        encoder (dict): The codec ``GenerateTarget`` encodes with.
        decoder (dict): The codec the head decodes with.
        flip_indices (list[int]): The dataset's flip indices.
    """

    def __init__(self, padding: float, affine: dict, encoder: dict, decoder: dict,
                 flip_indices: List[int]):
        self.bbox = TRANSFORMS.build(dict(type='GetBBoxCenterScale', padding=padding))
        self.affine = TRANSFORMS.build(dict(affine, type='TopdownAffine'))
        self.target = TRANSFORMS.build(dict(type='GenerateTarget', encoder=encoder))
        self.decoder = KEYPOINT_CODECS.build(decoder)
        self.flip_indices = list(flip_indices)

    def _encode(self, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
        out = self.target.transform(
            dict(transformed_keypoints=keypoints.copy(), keypoints_visible=visible.copy()))
        return out['heatmaps']

    def __call__(self, img: np.ndarray, keypoints: np.ndarray, visible: np.ndarray,
                 test_cfgs: Sequence[dict]) -> dict:
        """Predicted landmarks of a perfect network for one image.

        Args:
            img (np.ndarray): The (blank) image, only its size matters.
            keypoints (np.ndarray): Ground truth (1, K, 2) in image pixels.
            visible (np.ndarray): Visibility (1, K).
            test_cfgs (Sequence[dict]): Test settings to predict with
                (``flip_test``, ``flip_mode``, ``shift_heatmap``).

        Returns:
            dict: ``preds``, one (1, K, 2) prediction in image pixels per
            test setting, and the input pixels per image pixel
            ``input_per_image`` (x, y).
        """
        h, w = img.shape[:2]
        results = dict(img=img, img_shape=(h, w), ori_shape=(h, w),
                       bbox=np.array([[0, 0, w, h]], dtype=np.float32),
                       bbox_score=np.ones(1, dtype=np.float32),
                       keypoints=keypoints.copy(), keypoints_visible=visible.copy(),
                       flip_indices=self.flip_indices)
        results = self.affine.transform(self.bbox.transform(results))
        input_keypoints = results['transformed_keypoints']
        input_size = np.asarray(results['input_size'], dtype=np.float64)
        center, scale = results['input_center'], results['input_scale']
        heatmaps = torch.from_numpy(self._encode(input_keypoints, visible))[None]
        heatmaps_flip = None
        channels = np.flatnonzero(visible[0] > 0)

        preds = []
        for test_cfg in test_cfgs:
            if test_cfg.get('flip_test', False):
                if heatmaps_flip is None:
                    # The network's view of inputs.flip(-1): the same
                    # landmarks, mirrored in an image of the input size.
                    flipped, flipped_visible = flip_keypoints(
                        input_keypoints.copy(), visible.copy(),
                        image_size=results['input_size'], flip_indices=self.flip_indices,
                        direction='horizontal')
                    heatmaps_flip = torch.from_numpy(self._encode(flipped, flipped_visible))
                flipped_back = flip_heatmaps(
                    heatmaps_flip[None].clone(),
                    flip_mode=test_cfg.get('flip_mode', 'heatmap'),
                    flip_indices=self.flip_indices,
                    shift_heatmap=test_cfg.get('shift_heatmap', False))
                output = (heatmaps + flipped_back) * 0.5
            else:
                output = heatmaps
            # Decoding is per channel, so leaving out the empty channels of
            # absent landmarks (the generalist's other sets) changes nothing
            # but the run time.
            keypoints_pred = np.zeros((1, len(self.flip_indices), 2))
            pred_input, _ = self.decoder.decode(output[0, channels].numpy())
            keypoints_pred[:, channels] = pred_input
            preds.append(keypoints_pred / input_size * scale + center - 0.5 * scale)
        return dict(preds=preds, input_per_image=input_size / scale)


def evaluate(round_trip: RoundTrip, geometry: dict, cls, num_images: int,
             central_fraction: float, test_cfgs: Sequence[dict], layout=None) -> List[dict]:
    """Errors of one transform/codec setting on one geometry.

    Args:
        round_trip (RoundTrip): Transforms and codec.
        geometry (dict): An entry of ``GEOMETRIES``.
        cls (type): The dataset class (landmark count and calibration).
        num_images (int): Synthetic images.
        central_fraction (float): Where the landmarks lie.
        test_cfgs (Sequence[dict]): The flip-test settings to measure.
        layout (callable, optional): Maps a data info of ``cls`` to the
            config's landmark layout (the generalist's 88 channels).

    Returns:
        list[dict]: Per test setting ``points``, ``unit``, ``mean``, ``max``
        and the mean signed error ``bias_x``/``bias_y`` in input pixels.
    """
    w, h = geometry['size']
    num_landmarks = len(cls.METAINFO['keypoint_info'])
    all_kpts = _synthetic_landmarks(geometry, num_landmarks, num_images, central_fraction,
                                    hand_pair=getattr(cls, 'NORMALIZE', None) is not None)
    calibration = _calibration(cls, w, h, geometry['spacing'])
    img = np.zeros((h, w, 3), dtype=np.uint8)
    errors = [[] for _ in test_cfgs]
    offsets = [[] for _ in test_cfgs]
    for kpts in all_kpts:
        info = dict(keypoints=kpts[None],
                    keypoints_visible=np.ones((1, num_landmarks), dtype=np.float32),
                    calibration=calibration)
        if layout is not None:
            info = layout(info)
        visible = info['keypoints_visible'][0] > 0
        gt = info['keypoints'][0]
        out = round_trip(img, info['keypoints'], info['keypoints_visible'], test_cfgs)
        for i, pred in enumerate(out['preds']):
            err = radial_errors(pred[0], gt, info['calibration'])
            errors[i].append(err[visible])
            # Signed offsets in input pixels whatever the affine convention.
            offsets[i].append(((pred[0] - gt) * out['input_per_image'])[visible])
    rows = []
    for err, off in zip(errors, offsets):
        err, off = np.concatenate(err), np.concatenate(off)
        rows.append(dict(points=int(err.size), unit=calibration['unit'], mean=float(err.mean()),
                         max=float(err.max()), bias_x=float(off[:, 0].mean()),
                         bias_y=float(off[:, 1].mean())))
    return rows


# ---------------------------------------------------------------- configs
def config_cases(cfg) -> List[dict]:
    """The geometries one config covers, with its landmark layout.

    Args:
        cfg (Config): A loaded config.

    Returns:
        list[dict]: ``cls``, ``geometry``, ``flip_indices``, ``source`` (the
        generalist's block, else None) and ``layout``.
    """
    dataset = cfg.test_dataloader.dataset
    if dataset.type == GENERALIST:
        flip_indices = parse_pose_metainfo(GENERALIST_METAINFO)['flip_indices']
        cases = []
        for sub in dataset.datasets:
            cls = _dataset_class(sub.type)
            # The generalist names each set's block by its dataset_name.
            source = cls.METAINFO['dataset_name']
            cases.append(dict(cls=cls, geometry=GEOMETRIES[sub.type],
                              flip_indices=flip_indices, source=source,
                              layout=lambda info, s=source: to_generalist(info, s)))
        return cases
    cls = _dataset_class(dataset.type)
    if dataset.type not in GEOMETRIES:
        raise KeyError(f'no geometry for dataset type {dataset.type}')
    return [dict(cls=cls, geometry=GEOMETRIES[dataset.type],
                 flip_indices=parse_pose_metainfo(cls.METAINFO)['flip_indices'], source=None,
                 layout=None)]


def config_round_trip(cfg, flip_indices: List[int]) -> dict:
    """Arguments of :class:`RoundTrip` for what one config trains and tests with."""
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    box = _find_step(test_pipeline, 'GetBBoxCenterScale')
    affine = _find_step(test_pipeline, 'TopdownAffine')
    target = _find_step(cfg.train_dataloader.dataset.pipeline, 'GenerateTarget')
    train_affine = _find_step(cfg.train_dataloader.dataset.pipeline, 'TopdownAffine')
    if train_affine is not None and (bool(train_affine.get('use_udp', False)) != bool(
            affine.get('use_udp', False))):
        print(f'WARNING: {cfg.filename}: train and test TopdownAffine differ in use_udp; '
              'measuring the test one')
    return dict(padding=box.get('padding', 1.25), affine=affine,
                encoder=target['encoder'], decoder=cfg.model.head.decoder.to_dict(),
                flip_indices=list(flip_indices))


def run_configs(config_files: Sequence[str], settings: dict) -> List[dict]:
    """Two rows (no flip, the config's flip) per config and geometry."""
    rows, cache = [], {}
    for path in config_files:
        cfg = Config.fromfile(path)
        name = osp.splitext(osp.basename(path))[0]
        test_cfg = dict(cfg.model.get('test_cfg', {}))
        # The flip row always flips; test.py flips only if test_cfg says so.
        flips = [dict(flip_test=False), dict(test_cfg, flip_test=True)]
        for case in config_cases(cfg):
            kwargs = config_round_trip(cfg, case['flip_indices'])
            # Configs that differ only in model or schedule share numbers.
            key = json.dumps(dict(kwargs, geometry=case['geometry']['name'],
                                  source=case['source'], flips=flips), sort_keys=True)
            if key not in cache:
                cache[key] = evaluate(RoundTrip(**kwargs), case['geometry'], case['cls'],
                                      settings['num_images'], settings['central_fraction'],
                                      flips, layout=case['layout'])
            for flip, res in zip(flips, cache[key]):
                as_test = flip['flip_test'] == bool(test_cfg.get('flip_test', False))
                rows.append(dict(
                    config=name, dataset=case['geometry']['name'],
                    codec=_codec_name(kwargs['decoder']),
                    affine='udp' if kwargs['affine'].get('use_udp', False) else 'plain',
                    flip=_flip_name(flip), **{'test.py': 'yes' if as_test else ''}, **res))
    return rows


def run_references(settings: dict) -> List[dict]:
    """Plain MSRA, DARK and UDP at the head geometry, with and without flip."""
    cls = _dataset_class('ISBI2015HeadDataset')
    flip_indices = parse_pose_metainfo(cls.METAINFO)['flip_indices']
    rows = []
    for codec_name, (codec, use_udp) in REFERENCE_CODECS.items():
        codec = dict(codec, input_size=REFERENCE_INPUT, heatmap_size=REFERENCE_HEATMAP)
        round_trip = RoundTrip(
            padding=1.0, affine=dict(input_size=REFERENCE_INPUT, use_udp=use_udp),
            encoder=codec, decoder=codec, flip_indices=flip_indices)
        results = evaluate(round_trip, GEOMETRIES['ISBI2015HeadDataset'], cls,
                           settings['num_images'], settings['central_fraction'],
                           list(REFERENCE_FLIPS.values()))
        for flip_name, res in zip(REFERENCE_FLIPS, results):
            rows.append(dict(config=f'reference: {codec_name}', dataset='head',
                             codec=_codec_name(codec), affine='udp' if use_udp else 'plain',
                             flip=flip_name, **res))
    return rows


def worst_test_means(rows: Sequence[dict]) -> Dict[str, dict]:
    """Per config: the worst mean error among its ``test.py`` rows.

    Args:
        rows (Sequence[dict]): Rows of :func:`run_configs`.

    Returns:
        dict: Config name to ``worst_mean``, ``worst_dataset`` and ``unit``.
    """
    worst = {}
    for row in rows:
        if row.get('test.py') != 'yes':
            continue
        entry = worst.setdefault(row['config'], dict(worst_mean=0.0, worst_dataset=None))
        if row['mean'] >= entry['worst_mean']:
            entry.update(worst_mean=row['mean'], worst_dataset=row['dataset'],
                         unit=row['unit'])
    return worst


def main(argv=None):
    parser = base_parser(__doc__.split('\n')[0])
    args = parser.parse_args(argv)
    settings = get_settings(args.quick)
    start = time.perf_counter()

    config_files = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
    # Every tensor op here is tiny: intra-op threads only contend with each
    # other (5x slower on a busy 2-core machine).
    num_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rows = run_configs(config_files, settings)
        references = run_references(settings)
    finally:
        torch.set_num_threads(num_threads)

    print_table(rows, COLUMNS,
                f'Round-trip error of the shipped configs ({settings["num_images"]} '
                'images per geometry; bias in input px)')
    print_table(references, [c for c in COLUMNS if c != 'test.py'],
                'Reference codecs at the head geometry (768x1024 input, '
                '192x256 heatmaps)')
    worst = worst_test_means(rows)
    print('\nWorst mean error per config, with its test-time flip setting:')
    width = max(len(name) for name in worst)
    for name, entry in worst.items():
        print(f"  {name:<{width}s}  {entry['worst_mean']:.4g} {entry['unit']} "
              f"({entry['worst_dataset']})")
    elapsed = time.perf_counter() - start
    print(f'\nwall time {elapsed:.1f} s')

    settings['configs'] = [osp.relpath(p, REPO_ROOT) for p in config_files]
    results = dict(rows=rows, references=references, worst_test_mean=worst, wall_s=elapsed)
    write_json(args.out_dir, NAME, settings, results)
    return results


if __name__ == '__main__':
    main()
