"""Training and inference throughput of Sapiens 0.3B + LoRA on one GPU, and data loading speed.

Measures, for ``SapiensViT('sapiens_0.3b')`` with the default (MedSapiens)
LoRA at a 1024x768 (h x w; 768x1024 as w x h) input under bf16 autocast, the
mode ``tools/train.py --amp`` trains in on GPUs of compute capability 8.0 and
up (``BackboneAmpOptimWrapper``; ``tools/benchmarks/gpu_check.py`` runs the
whole recipe through the runner in fp32, bf16 and fp16):

* training images/s at batch 2: forward, backward, AdamW step (lr 5e-4,
  weight decay 0.1) over the adapters. The loss is the mean square of the
  backbone's feature map: the HeatmapHead is left out, so a real step also
  pays for the head's deconvolutions;
* inference images/s (eval mode, ``torch.inference_mode``) of the unmerged
  and of the merged (``merge_lora()``) backbone;
* peak GPU memory (``torch.cuda.max_memory_allocated``) of each;
* samples/s of the training data pipeline of ``configs/medsapiens_legs.py``
  (16-bit PNG decoding and windowing, affine crop to 1024x768, photometric
  distortion, heatmap targets) through a ``DataLoader`` with 8 workers, on
  the synthetic full-leg radiographs of ``data_pipeline_throughput.py``
  (2396x5628 w x h, 16-bit) written to a temporary folder in the MedSapiens
  release layout, so the numbers compare with that CPU benchmark.

It needs a CUDA GPU and refuses to run without one, except with ``--quick``,
which runs a tiny model and small images on the CPU (bf16 autocast there
too) to check that the script works; those numbers mean nothing.

Usage:
    python tools/benchmarks/gpu_benchmark.py [--quick] [--out-dir DIR]
"""
import os.path as osp
import sys
import tempfile
import time

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

import mmpose_medsapiens  # noqa: F401  (registers datasets, transforms and models)
from mmpose_medsapiens.engine import BackboneAmpOptimWrapper, CPUAmpOptimWrapper
from mmpose_medsapiens.models import SapiensViT
from mmpose_medsapiens.testing import (LEG_ANN_NAME, QUICK_ARCH, base_parser, print_table,
                                       sync_device, write_json, write_leg_set)

NAME = 'gpu_benchmark'
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO_ROOT, 'configs', 'medsapiens_legs.py')


def get_settings(quick: bool) -> dict:
    """Model, timing and data-loading settings of a full or ``--quick`` run."""
    if quick:
        return dict(
            device='cpu', arch=QUICK_ARCH, img_size=(64, 48), train_batch=2, train_warmup=1,
            train_iters=2, infer_batch=2, infer_warmup=1, infer_iters=2,
            image_wh=(120, 280), num_images=2, data_batch=2, data_samples=8, num_workers=2)
    return dict(
        device='cuda', arch='sapiens_0.3b', img_size=(1024, 768), train_batch=2,
        train_warmup=5, train_iters=20, infer_batch=8, infer_warmup=3, infer_iters=10,
        image_wh=(2396, 5628), num_images=8, data_batch=2, data_samples=96, num_workers=8)


# --------------------------------------------------------------------- data
def benchmark_data_pipeline(settings: dict) -> dict:
    """Samples/s of the legs training pipeline through a multi-worker DataLoader."""
    width, height = settings['image_wh']
    batch = settings['data_batch']
    # One extra batch: the first one also pays for starting the workers.
    num_entries = settings['data_samples'] + batch
    with tempfile.TemporaryDirectory(prefix='gpu_benchmark_legs_') as root:
        start = time.perf_counter()
        # The synthetic full-leg set of the CPU pipeline benchmark.
        write_leg_set(root, settings['num_images'], (width, height))
        write_s = time.perf_counter() - start

        cfg = Config.fromfile(CONFIG)
        init_default_scope('mmpose')
        ds_cfg = cfg.train_dataloader.dataset
        ds_cfg.update(data_root=root + '/', ann_file=LEG_ANN_NAME)
        dataset = DATASETS.build(ds_cfg)
        # Samples cycle over the image files.
        samples = torch.utils.data.Subset(dataset, [i % len(dataset) for i in range(num_entries)])
        loader = torch.utils.data.DataLoader(
            samples, batch_size=batch, num_workers=settings['num_workers'], shuffle=False,
            collate_fn=pseudo_collate)
        start = time.perf_counter()
        first = None
        samples = 0
        for data in loader:
            if first is None:
                first = time.perf_counter()
                continue
            samples += len(data['inputs'])
        end = time.perf_counter()
        input_shape = list(data['inputs'][0].shape)
    return dict(samples=samples, samples_per_s=samples / (end - first),
                first_batch_s=first - start, num_workers=settings['num_workers'],
                image_wh=[width, height], input_shape_chw=input_shape,
                write_images_s=write_s)


# -------------------------------------------------------------------- model
def _reset_peak(device: str) -> None:
    if device == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_mib(device: str):
    return torch.cuda.max_memory_allocated() / 2**20 if device == 'cuda' else None


def _timed(fn, warmup: int, iters: int, device: str) -> float:
    """Seconds per call of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    sync_device(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync_device(device)
    return (time.perf_counter() - start) / iters


def benchmark_model(settings: dict) -> dict:
    """Training and inference images/s and peak memory of the LoRA backbone."""
    device = settings['device']
    h, w = settings['img_size']
    torch.manual_seed(0)
    model = SapiensViT(arch=settings['arch'], img_size=(h, w)).to(device)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=5e-4, weight_decay=0.1)
    # The wrapper `tools/train.py --amp` builds (bf16 backbone autocast on GPUs of
    # compute capability >= 8.0 and on CPU), with the model standing for the backbone.
    wrapper_type = BackboneAmpOptimWrapper if device == 'cuda' else CPUAmpOptimWrapper
    wrapper = wrapper_type(optimizer=optimizer, dtype='bfloat16')
    x_train = torch.randn(settings['train_batch'], 3, h, w, device=device)
    autocast = dict(device_type=device, dtype=torch.bfloat16)

    def train_step():
        with wrapper.optim_context(model):
            feats = model(x_train)[-1]
        # Head-free stand-in for the heatmap loss: touches every output.
        wrapper.update_params(feats.pow(2).mean())

    _reset_peak(device)
    train_s = _timed(train_step, settings['train_warmup'], settings['train_iters'], device)
    train_peak = _peak_mib(device)
    # Free the training state (optimizer moments, gradients, batch) before inference.
    optimizer = x_train = None
    model.zero_grad(set_to_none=True)

    x_infer = torch.randn(settings['infer_batch'], 3, h, w, device=device)

    def infer():
        with torch.inference_mode(), torch.autocast(**autocast):
            model(x_infer)

    results = dict(trainable_params=sum(p.numel() for p in params),
                   train_step_s=train_s, train_img_per_s=settings['train_batch'] / train_s,
                   train_peak_mem_mib=train_peak)
    model.eval()
    for name in ('lora', 'merged'):
        if name == 'merged':
            model.merge_lora()
        _reset_peak(device)
        infer_s = _timed(infer, settings['infer_warmup'], settings['infer_iters'], device)
        results[f'infer_{name}_img_per_s'] = settings['infer_batch'] / infer_s
        results[f'infer_{name}_peak_mem_mib'] = _peak_mib(device)
    return results


def main(argv=None):
    parser = base_parser(__doc__.split('\n')[0])
    args = parser.parse_args(argv)

    if not args.quick and not torch.cuda.is_available():
        print('gpu_benchmark: this benchmark needs a CUDA GPU and none is available; '
              'refusing to run (use --quick for a CPU smoke run of the script).',
              file=sys.stderr)
        raise SystemExit(2)

    start = time.perf_counter()
    settings = get_settings(args.quick)
    # Data first, while this process holds no model and no CUDA context:
    # the forked loader workers then inherit as little as possible.
    data = benchmark_data_pipeline(settings)
    model = benchmark_model(settings)
    wall_s = time.perf_counter() - start

    device_name = torch.cuda.get_device_name(0) if settings['device'] == 'cuda' else 'CPU'
    arch_name = settings['arch'] if isinstance(settings['arch'], str) else 'tiny'
    h, w = settings['img_size']
    print_table(
        [dict(measure='train (fwd+bwd+AdamW)', batch=settings['train_batch'],
              img_per_s=model['train_img_per_s'], peak_mem_mib=model['train_peak_mem_mib']),
         dict(measure='inference, LoRA unmerged', batch=settings['infer_batch'],
              img_per_s=model['infer_lora_img_per_s'],
              peak_mem_mib=model['infer_lora_peak_mem_mib']),
         dict(measure='inference, merged', batch=settings['infer_batch'],
              img_per_s=model['infer_merged_img_per_s'],
              peak_mem_mib=model['infer_merged_peak_mem_mib'])],
        ['measure', 'batch', 'img_per_s', 'peak_mem_mib'],
        title=f'{arch_name} + LoRA @ {h}x{w} (h x w), bf16 autocast, {device_name} '
              f'(backbone only: no HeatmapHead in the training step)')
    print_table(
        [dict(pipeline='medsapiens_legs train', image_wh='x'.join(map(str, data['image_wh'])),
              num_workers=data['num_workers'], samples=data['samples'],
              samples_per_s=data['samples_per_s'], first_batch_s=data['first_batch_s'])],
        ['pipeline', 'image_wh', 'num_workers', 'samples', 'samples_per_s', 'first_batch_s'],
        title='Data loading (16-bit PNG, synthetic)')
    train_need = model['train_img_per_s']
    verdict = 'keeps up with' if data['samples_per_s'] >= train_need else 'is slower than'
    print(f'The data pipeline ({data["samples_per_s"]:.3g} samples/s) {verdict} training '
          f'({train_need:.3g} img/s) on this machine.')
    print(f'wall time: {wall_s:.1f} s')

    results = dict(model=model, data=data, device=device_name, wall_s=wall_s)
    write_json(args.out_dir, NAME, dict(settings, quick=args.quick), results)
    return results


if __name__ == '__main__':
    main()
