"""GPU acceptance check: the shipped recipe trained, tested, exported and run distributed on CUDA.

Needs no download: ``configs/sapiens_lora_head.py`` as shipped (Sapiens 0.3B +
LoRA + HeatmapHead at 1024x768, h x w) with only the pretrained ``init_cfg``
removed, on textured synthetic radiographs written in the release layout.
Through mmengine's real ``Runner``:

* a few train iterations in fp32 (TF32 on, as the config allows and
  ``tools/train.py`` applies), bf16 and fp16 (``--amp``'s wrappers): loss
  finite, LoRA and head weights moved, frozen weights bit-identical
  (compared by per-tensor float64 sums, which cost no GPU memory); fp16
  gets enough iterations past the dynamic loss scaler's first overflow
  skips, and the skips are counted;
* peak GPU memory (``torch.cuda.max_memory_allocated``) and train / test
  images per second of each (test: the real test loop with the metric, the
  backbone in the mode's precision);
* ``tools/analysis/calibrate_uncertainty.py --device cuda:0`` and
  ``tools/test.py`` with heatmaps in the predictions and the calibration;
* ONNX export of the CUDA model and onnxruntime (CPU) parity, TF32 off;
* an adapter-only checkpoint written from the CUDA model, read by plain
  ``torch.load(weights_only=True)`` in a process that sees no GPU;
* a 1-rank NCCL DDP run through ``tools/dist_train.sh``.

Prints a table, writes ``<out-dir>/gpu_check.json`` and exits 1 when any
check fails (2 without CUDA, unless ``--quick``: a tiny model on the CPU,
bf16 and fp32 only, gloo instead of NCCL, to check the script in the suite).

Usage:
    python tools/benchmarks/gpu_check.py [--quick] [--out-dir DIR]
"""
import contextlib
import copy
import gc
import json
import math
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpose.registry import DATASETS

import mmpose_medsapiens  # noqa: F401  (registers the plugin)
from mmpose_medsapiens.apis import init_landmark_model
from mmpose_medsapiens.deploy import DecodedLandmarkModel, OnnxLandmarkModel, export_onnx
from mmpose_medsapiens.engine import apply_amp
from mmpose_medsapiens.models import adapter_state_dict
from mmpose_medsapiens.testing import (QUICK_ARCH, base_parser, check_detail, print_table,
                                       run_check, sync_device, write_blank_landmark_set, write_json)
from mmpose_medsapiens.utils import apply_tf32

NAME = 'gpu_check'
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'sapiens_lora_head.py')


def get_settings(quick: bool) -> dict:
    """Sizes, iterations and precisions of a full or ``--quick`` run."""
    if quick:
        return dict(device='cpu', arch=QUICK_ARCH, input_size=(64, 80),
                    heatmap_size=(16, 20), image_wh=(120, 150), num_train=8, num_test=4,
                    modes=dict(fp32=3, bf16=3), warmup=1, batch=2, ddp_backend='gloo')
    return dict(device='cuda', arch=None, input_size=None, heatmap_size=None,
                image_wh=(968, 1200), num_train=16, num_test=8,
                modes=dict(fp32=8, bf16=8, fp16=16), warmup=2, batch=2, ddp_backend='nccl')


# --------------------------------------------------------------------- data
def write_data(root: str, settings: dict, num_keypoints: int) -> None:
    """Train/val/test sets of smooth random textures in the release layout.

    Textures, not blank images: flat inputs give flat heatmaps, whose argmax
    is decided by rounding.
    """
    w, h = settings['image_wh']
    for split, count in (('train', settings['num_train']), ('val', settings['num_test']),
                         ('test', settings['num_test'])):
        folder = osp.join(root, split)
        write_blank_landmark_set(folder, num_keypoints, [(w, h)] * count, spacing=[0.1, 0.1],
                                 ann_name=f'head_coco_{split}_annotations.json')
        rng = np.random.default_rng(len(split))
        for i in range(1, count + 1):
            noise = rng.uniform(0, 255, (h // 8, w // 8)).astype(np.float32)
            image = cv2.resize(cv2.GaussianBlur(noise, (0, 0), 2), (w, h))
            cv2.imwrite(osp.join(folder, 'Images', f'img_{i}.png'), image.astype(np.uint8))


def build_config(root: str, settings: dict, work_dir: str):
    """The shipped config, pretrained ``init_cfg`` removed, pointed at ``root``."""
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.pop('init_cfg', None)
    if settings['arch'] is not None:  # --quick: shrink the model, keep the recipe
        cfg.model.backbone.update(arch=settings['arch'], img_size=settings['input_size'][::-1])
        cfg.model.head.update(in_channels=settings['arch']['embed_dims'],
                              deconv_out_channels=(16, 16), conv_out_channels=(16, 16))
        codec = dict(cfg.codec, input_size=settings['input_size'],
                     heatmap_size=settings['heatmap_size'])
        cfg.model.head.decoder = codec
        cfg.optim_wrapper.paramwise_cfg.num_layers = settings['arch']['num_layers']
        for split in ('train', 'val', 'test'):
            for step in cfg[f'{split}_dataloader'].dataset.pipeline:
                if step['type'] == 'TopdownAffine':
                    step['input_size'] = settings['input_size']
                if step['type'] == 'GenerateTarget':
                    step['encoder'] = codec
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.dataset.data_root = osp.join(root, split) + '/'
        loader.update(batch_size=settings['batch'], num_workers=2, persistent_workers=False)
    # Validation stays configured (the calibration reads the val split) but never
    # runs while training.
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=1, val_interval=10**6)
    cfg.test_cfg = cfg.get('test_cfg') or dict()
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=10**6,
                                        save_last=True, save_best=None)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.work_dir = work_dir
    return cfg


# ------------------------------------------------------------------ training
def _checksums(params):
    """Per-tensor float64 sums: equal sums for bit-equal weights, no copies kept."""
    return {n: (p.detach().double().sum().item(), p.detach().double().abs().sum().item())
            for n, p in params}


def train_mode(cfg, mode: str, iters: int, settings: dict, trained=None) -> dict:
    """Train ``iters`` iterations in ``mode``, measure and check; ``trained(runner)`` after."""
    device = settings['device']
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = osp.join(cfg.work_dir, mode)
    cfg.experiment_name = f'gpu_check_{mode}'  # one logger and visualizer per run
    cfg.train_cfg.max_iters = iters
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    if mode != 'fp32':
        apply_amp(cfg)
        cfg.optim_wrapper.dtype = dict(bf16='bfloat16', fp16='float16')[mode]
    record = dict(losses=[], scales=[], times=[])

    class Probe(Hook):
        priority = 'LOWEST'

        def before_train(self, runner):
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            named = list(model.named_parameters())
            self.trained = {n: p.detach().clone() for n, p in named if p.requires_grad}
            self.frozen = _checksums([(n, p) for n, p in named if not p.requires_grad])
            if device == 'cuda':
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            sync_device(device)
            self.start = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            sync_device(device)
            record['times'].append(time.perf_counter() - self.start)
            record['losses'].append(float(outputs['loss'].detach()))
            scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
            record['scales'].append(scaler.get_scale() if scaler is not None and
                                    scaler.is_enabled() else None)

    runner = Runner.from_cfg(cfg)
    probe = Probe()
    runner.register_hook(probe)
    runner.train()
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else None
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    named = list(model.named_parameters())
    moved = {n for n, p in named if p.requires_grad and not torch.equal(p.detach(),
                                                                        probe.trained[n])}
    lora = {n for n in probe.trained if '.lora_' in n}
    head = {n for n in probe.trained if n.startswith('head.')}
    frozen_now = _checksums([(n, p) for n, p in named if not p.requires_grad])
    timed = record['times'][settings['warmup']:]
    scales = [s for s in record['scales'] if s is not None]
    skips = sum(1 for a, b in zip(scales, scales[1:]) if b < a)
    result = dict(
        mode=mode, iters=iters, dtype=str(getattr(runner.optim_wrapper, 'cast_dtype', None)),
        wrapper=type(runner.optim_wrapper).__name__,
        loss_first=record['losses'][0], loss_last=record['losses'][-1],
        loss_finite=all(math.isfinite(v) for v in record['losses']),
        lora_moved=f'{len(moved & lora)}/{len(lora)}',
        head_moved=f'{len(moved & head)}/{len(head)}',
        frozen_unchanged=frozen_now == probe.frozen, scaler_skips=skips if scales else None,
        train_img_per_s=settings['batch'] * len(timed) / sum(timed), train_peak_mib=peak)
    result['ok'] = bool(result['loss_finite'] and lora and moved >= lora and moved >= head
                        and result['frozen_unchanged'])
    result.update(test_mode(runner, mode, settings))
    if trained is not None:
        trained(runner)
    return result


def test_mode(runner, mode: str, settings: dict) -> dict:
    """Images/s of the real test loop, the backbone in the mode's precision."""
    device = settings['device']
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    context = (runner.optim_wrapper.optim_context(runner.model) if mode != 'fp32'
               else contextlib.nullcontext())
    runner.test_loop.run()  # warm-up: workers, kernels, allocator
    sync_device(device)
    start = time.perf_counter()
    with context:
        metrics = runner.test_loop.run()
    sync_device(device)
    seconds = time.perf_counter() - start
    return dict(test_img_per_s=settings['num_test'] / seconds,
                test_peak_mib=torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda'
                else None, test_mre=metrics.get('MRE_mm'))


# ------------------------------------------------------------------- tools
def run_tool(args, env=None, timeout=600):
    """Run a repository tool like a user; returns (ok, its whole output)."""
    command = ['bash', *args] if args[0].endswith('.sh') else [sys.executable, *args]
    full_env = dict(os.environ, PYTHON=sys.executable, **(env or {}))
    proc = subprocess.run(command, cwd=REPO_ROOT, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode == 0, proc.stdout + proc.stderr


def check_test_tool(config: str, checkpoint: str, folder: str, settings: dict) -> dict:
    """Calibrate the uncertainty on the val split, then tools/test.py with heatmaps and it."""
    device = 'cuda:0' if settings['device'] == 'cuda' else 'cpu'
    calibration = osp.join(folder, 'calibration.json')
    ok, out = run_tool(['tools/analysis/calibrate_uncertainty.py', config, checkpoint,
                        calibration, '--device', device])
    if not ok:
        return dict(ok=False, error='calibrate_uncertainty.py failed', output=out[-3000:])
    metrics_file = osp.join(folder, 'test_metrics.json')
    ok, out = run_tool(['tools/test.py', config, checkpoint, '--work-dir', osp.join(folder, 't'),
                        '--out', metrics_file, '--cfg-options',
                        'model.test_cfg.output_heatmaps=True',
                        f'test_evaluator.0.uncertainty_calibration={calibration}'])
    if not ok:
        return dict(ok=False, error='tools/test.py failed', output=out[-3000:])
    with open(metrics_file) as f:
        metrics = json.load(f)
    keys = ('MRE_mm', 'uncertainty_spearman', 'coverage_90', 'outside_validation')
    return dict(ok=all(k in metrics for k in keys), **{k: metrics.get(k) for k in keys})


def check_onnx(config: str, checkpoint: str, folder: str, settings: dict) -> dict:
    """Export the model as loaded on the device; onnxruntime (CPU) against PyTorch there.

    fp32 on both sides (TF32 off), so the heatmaps agree to float rounding:
    the scores (heatmap maxima) must agree to 1e-4 relative. A landmark goes
    through an argmax and the DARK Newton step, which on a random model's
    flat heatmaps turn rounding into pixels (a near-tie flips the argmax, a
    near-zero curvature scales the step; the tiny ``--quick`` model's heatmaps
    are upsampled from 5x4 tokens, so neighbouring pixels nearly tie). So the
    landmarks are first sorted by their own sensitivity: those that move by
    more than 0.05 input px when PyTorch's heatmaps are perturbed by 1e-7
    relative noise (float32 rounding) are *rounding-sensitive* and only
    counted; every other landmark must agree within 0.05 px, and there must
    be at least one.
    """
    device = 'cuda:0' if settings['device'] == 'cuda' else 'cpu'
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        model = init_landmark_model(config, checkpoint, device=device)
        meta = model.dataset_meta
        names = [meta['keypoint_id2name'][k] for k in range(model.head.out_channels)]
        path = osp.join(folder, 'model.onnx')
        start = time.perf_counter()
        export_onnx(model, path, meta['flip_indices'], names)
        export_s = time.perf_counter() - start
        init_default_scope('mmpose')
        cfg = Config.fromfile(config)
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        images = pseudo_collate([dataset[i] for i in range(2)])['inputs']
        batch = torch.stack(images).float()
        decoded = DecodedLandmarkModel(model, meta['flip_indices']).eval()
        with torch.no_grad():
            ref = [t.cpu().numpy() for t in decoded(batch.to(device))]
            heatmaps = decoded.heatmaps(batch.to(device))
            generator = torch.Generator(device=heatmaps.device).manual_seed(0)
            sensitivity = np.zeros(ref[1].shape)
            for _ in range(3):
                noise = torch.randn(heatmaps.shape, generator=generator, device=heatmaps.device)
                moved = decoded.decoder(heatmaps * (1 + 1e-7 * noise))[0].cpu().numpy()
                sensitivity = np.maximum(sensitivity, np.linalg.norm(moved - ref[0], axis=-1))
        got = OnnxLandmarkModel(path)(batch.numpy())
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    point = np.linalg.norm(got[0] - ref[0], axis=-1)
    stable = sensitivity <= 0.05
    score_rel = float(np.abs(got[1] - ref[1]).max() / max(np.abs(ref[1]).max(), 1e-12))
    stable_diff = float(point[stable].max()) if stable.any() else float('nan')
    return dict(ok=bool(score_rel <= 1e-4 and stable.any() and stable_diff <= 0.05),
                export_s=export_s, score_max_rel_diff=score_rel,
                landmarks=int(point.size), rounding_sensitive=int((~stable).sum()),
                stable_max_diff_px=stable_diff, keypoint_median_diff_px=float(np.median(point)),
                keypoint_max_diff_px=float(point.max()), onnx_mib=osp.getsize(path) / 2**20)


def check_adapter_checkpoint(model, folder: str) -> dict:
    """An adapter-only file from the model on its device, loaded where no GPU is seen."""
    path = osp.join(folder, 'adapter_only.pth')
    state = adapter_state_dict(model)
    torch.save(state, path)
    code = ('import sys, torch; s = torch.load(sys.argv[1], weights_only=True); '
            'print(len(s), sorted({str(t.device) for t in s.values()}))')
    ok, out = run_tool(['-c', code, path], env=dict(CUDA_VISIBLE_DEVICES=''))
    return dict(ok=ok and f"{len(state)} ['cpu']" in out, tensors=len(state),
                model_device=str(next(model.parameters()).device), output=out.strip()[-300:])


def check_ddp(config: str, folder: str, settings: dict) -> dict:
    """One rank through tools/dist_train.sh: NCCL on CUDA (gloo for --quick)."""
    work_dir = osp.join(folder, 'ddp')
    env = dict(CUDA_VISIBLE_DEVICES='') if settings['device'] == 'cpu' else {}
    start = time.perf_counter()
    ok, out = run_tool(['tools/dist_train.sh', config, '1', '--work-dir', work_dir,
                        '--cfg-options', 'train_cfg.max_iters=2',
                        f'env_cfg.dist_cfg.backend={settings["ddp_backend"]}'], env=env)
    saved = osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    return dict(ok=ok and saved and 'Distributed training: True' in out,
                backend=settings['ddp_backend'], seconds=time.perf_counter() - start,
                checkpoint_saved=saved, **({} if ok else dict(output=out[-3000:])))


# -------------------------------------------------------------------- main
def _free_memory(device: str) -> None:
    """Collect a dropped runner (its hooks hold reference cycles) and its GPU memory."""
    gc.collect()
    if device == 'cuda':
        torch.cuda.empty_cache()


def main(argv=None):
    parser = base_parser(__doc__.split('\n')[0])
    args = parser.parse_args(argv)

    if not args.quick and not torch.cuda.is_available():
        print('gpu_check: this check needs a CUDA GPU and none is available; refusing to run '
              '(use --quick for a CPU run of the script).', file=sys.stderr)
        raise SystemExit(2)
    start = time.perf_counter()
    settings = get_settings(args.quick)
    results = dict(modes={})
    with tempfile.TemporaryDirectory(prefix='gpu_check_') as folder:
        init_default_scope('mmpose')
        cfg = build_config(osp.join(folder, 'data'), settings, osp.join(folder, 'work'))
        num_keypoints = len(DATASETS.get(cfg.train_dataloader.dataset.type)
                            .METAINFO['keypoint_info'])
        write_data(osp.join(folder, 'data'), settings, num_keypoints)
        config = osp.join(folder, 'gpu_check_config.py')
        cfg.dump(config)
        # As tools/train.py: TF32 for float32 work where the config allows it (it
        # does); the flags are process-wide, so they are restored at the end.
        flags = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        results['tf32'] = apply_tf32(cfg)
        for mode, iters in settings['modes'].items():
            _free_memory(settings['device'])  # the previous mode's model and optimizer
            # The fp32 model, still on its device, writes the adapter-only checkpoint.
            trained = None if mode != 'fp32' else lambda runner: run_check(
                results, 'adapter_checkpoint', check_adapter_checkpoint, runner.model, folder)
            run_check(results['modes'], mode, train_mode, cfg, mode, iters, settings, trained)
            results['modes'][mode].setdefault('mode', mode)
        _free_memory(settings['device'])
        results.setdefault('adapter_checkpoint', dict(ok=False, error='no fp32 model'))
        checkpoint = osp.join(cfg.work_dir, 'fp32', f'iter_{settings["modes"]["fp32"]}.pth')
        if results['modes'].get('fp32', {}).get('ok'):
            run_check(results, 'test_tool', check_test_tool, config, checkpoint, folder, settings)
            run_check(results, 'onnx', check_onnx, config, checkpoint, folder, settings)
        else:
            results['test_tool'] = results['onnx'] = dict(ok=False, error='no fp32 checkpoint')
        run_check(results, 'ddp', check_ddp, config, folder, settings)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = flags
    results['wall_s'] = time.perf_counter() - start
    results['device'] = torch.cuda.get_device_name(0) if settings['device'] == 'cuda' else 'CPU'
    checks = {f'train {m}': r['ok'] for m, r in results['modes'].items()}
    checks.update({k: results[k]['ok']
                   for k in ('adapter_checkpoint', 'test_tool', 'onnx', 'ddp')})
    results['ok'] = all(checks.values())

    print_table(
        [{k: r.get(k, '') for k in ('mode', 'wrapper', 'dtype', 'iters', 'loss_first',
                                    'loss_last', 'lora_moved', 'head_moved', 'frozen_unchanged',
                                    'scaler_skips', 'train_img_per_s', 'train_peak_mib',
                                    'test_img_per_s', 'test_peak_mib', 'ok')}
         for r in results['modes'].values()],
        ['mode', 'wrapper', 'dtype', 'iters', 'loss_first', 'loss_last', 'lora_moved',
         'head_moved', 'frozen_unchanged', 'scaler_skips', 'train_img_per_s', 'train_peak_mib',
         'test_img_per_s', 'test_peak_mib', 'ok'],
        title=f'Training and testing, {results["device"]}, batch {settings["batch"]}, '
              f'TF32 {"on" if results["tf32"] else "off"} for float32 work')
    onnx = results['onnx']
    print_table(
        [dict(check=name, ok=ok,
              detail=check_detail(results[name.split(' ')[0]] if not name.startswith('train')
                                  else results['modes'][name.split(' ')[1]]))
         for name, ok in checks.items()],
        ['check', 'ok', 'detail'], title='Checks')
    if 'score_max_rel_diff' in onnx:
        print(f'ONNX parity (TF32 off): scores max rel diff {onnx["score_max_rel_diff"]:.2e}; '
              f'{onnx["landmarks"] - onnx["rounding_sensitive"]} of {onnx["landmarks"]} landmarks '
              f'insensitive to rounding, max diff {onnx["stable_max_diff_px"]:.2e} px; all: '
              f'median {onnx["keypoint_median_diff_px"]:.2e} px, max '
              f'{onnx["keypoint_max_diff_px"]:.3g} px')
    print(f'wall time: {results["wall_s"]:.1f} s; all checks passed: {results["ok"]}')
    write_json(args.out_dir, NAME, dict(settings, quick=args.quick), results)
    if not results['ok']:
        raise SystemExit(1)
    return results


if __name__ == '__main__':
    main()
