"""Training cost of in-place LoRA vs. full fine-tuning vs. mmpretrain's LoRAModel.

Measures, for the Sapiens 0.3B backbone at a 256x192 (h x w) input, batch 2,
fp32 on the CPU, one training step (backbone forward, a mean-of-squares loss
on its feature map, backward, AdamW step with lr 5e-4 and weight decay 0.1)
of three variants:

* ``lora``: this package's ``SapiensViT`` with its default (MedSapiens) LoRA;
* ``full``: ``SapiensViT(lora=None)`` with every parameter trainable;
* ``mmpretrain_lora``: mmpretrain's ``LoRAModel`` around a plain mmpretrain
  ``VisionTransformer``, configured as the MedSapiens release does (rank 4 /
  alpha 4 on ``.*qkv``, rank 8 / alpha 8 on ``proj``, dropout 0.1).

Reported per variant: trainable parameters, bytes of AdamW state, the median
step time (after one untimed step, all variants timed round-robin in one
process, the two LoRA variants swapping places every round; ratios are
medians of per-round ratios) and the peak resident memory of a fresh process running two steps
of that variant alone (the second step runs on top of the AdamW state). The
head is left out on purpose: it is the same for all variants and would only
dilute the differences. The variants are built by
:func:`mmpose_medsapiens.testing.build_backbone_variant`.

Usage:
    python tools/benchmarks/lora_training_cost.py [--quick] [--out-dir DIR]
"""
import argparse
import os.path as osp
import time
from concurrent.futures import ThreadPoolExecutor

import torch

import mmpose_medsapiens  # noqa: F401  (registers the plugin)
from mmpose_medsapiens.testing import (BACKBONE_VARIANTS, QUICK_ARCH, base_parser,
                                       build_backbone_variant, median, paired_ratio, peak_rss_mib,
                                       print_table, report_result, run_worker, time_alternating,
                                       write_json)

NAME = 'lora_training_cost'
# The closest pair, lora and mmpretrain_lora, runs back to back in every round.
VARIANTS = BACKBONE_VARIANTS


def get_settings(quick: bool) -> dict:
    """Arch, input and repeat counts of a full or a ``--quick`` run."""
    if quick:
        return dict(arch=QUICK_ARCH, img_size=(64, 48), batch_size=2, warmup=1, repeats=2,
                    worker_steps=2, lr=5e-4, weight_decay=0.1)
    return dict(arch='sapiens_0.3b', img_size=(256, 192), batch_size=2, warmup=1, repeats=4,
                worker_steps=2, lr=5e-4, weight_decay=0.1)


def make_train_step(model, batch, lr=5e-4, weight_decay=0.1):
    """A closure running one full training step of ``model`` on ``batch``.

    Args:
        model (nn.Module): The backbone.
        batch (torch.Tensor): Input images ``(N, 3, H, W)``.
        lr (float): AdamW learning rate.
        weight_decay (float): AdamW weight decay.

    Returns:
        tuple: ``(step, optimizer)``.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)

    def step():
        optimizer.zero_grad(set_to_none=True)
        feats = model(batch)[-1]
        # A cheap loss that touches every output element, same for all variants.
        loss = feats.pow(2).mean()
        loss.backward()
        optimizer.step()

    return step, optimizer


def optimizer_state_bytes(optimizer) -> int:
    """Bytes of every tensor in the optimizer state (exp_avg, exp_avg_sq, step)."""
    return sum(v.numel() * v.element_size() for state in optimizer.state.values()
               for v in state.values() if isinstance(v, torch.Tensor))


def _input(settings):
    h, w = settings['img_size']
    return torch.randn(settings['batch_size'], 3, h, w,
                       generator=torch.Generator().manual_seed(0))


def measure_peak_rss(settings: dict, variant: str) -> dict:
    """Build one variant and run a few training steps; return the peak RSS.

    Two steps, because the AdamW state only exists from the first
    ``optimizer.step()`` on: the second step's forward/backward runs on top
    of it.
    """
    torch.manual_seed(0)
    model = build_backbone_variant(variant, settings['arch'], settings['img_size'])
    rss_built = peak_rss_mib()
    step, _ = make_train_step(model, _input(settings), settings['lr'],
                              settings['weight_decay'])
    for _ in range(settings['worker_steps']):
        step()
    return dict(variant=variant, peak_rss_mib=peak_rss_mib(),
                peak_rss_after_build_mib=rss_built)


def run_worker_mode(variants, quick: bool) -> dict:
    """Measure the given variants in this process and report the results."""
    settings = get_settings(quick)
    result = dict(variants=[measure_peak_rss(settings, v) for v in variants])
    report_result(result)
    return result


def _ratio(a, b):
    return a / b if b else float('nan')


def main(argv=None):
    parser = base_parser(__doc__.split('\n')[0])
    parser.add_argument('--worker', help=argparse.SUPPRESS)  # comma-separated variants
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker_mode(args.worker.split(','), args.quick)

    start = time.perf_counter()
    settings = get_settings(args.quick)
    # Peak memory only compares across fresh processes: one per variant, run
    # after the timing so that they never compete with it for the CPU.
    # --quick measures all variants in one process, started right away,
    # which hides its ~10 s of imports (its numbers mean nothing anyway).
    script = osp.abspath(__file__)
    groups = [','.join(VARIANTS)] if args.quick else list(VARIANTS)
    worker_argvs = [[script, '--worker', g] + (['--quick'] if args.quick else [])
                    for g in groups]
    pool = ThreadPoolExecutor(max_workers=1)
    workers = [pool.submit(run_worker, a) for a in worker_argvs] if args.quick else []

    torch.manual_seed(0)
    batch = _input(settings)

    rows, steps = {}, {}
    for variant in VARIANTS:
        model = build_backbone_variant(variant, settings['arch'], settings['img_size'])
        step, optimizer = make_train_step(model, batch, settings['lr'],
                                          settings['weight_decay'])
        for _ in range(settings['warmup']):
            step()  # untimed; also allocates the AdamW state
        rows[variant] = dict(
            variant=variant,
            trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
            total_params=sum(p.numel() for p in model.parameters()),
            optimizer_state_bytes=optimizer_state_bytes(optimizer))
        steps[variant] = step
    times = time_alternating(steps, repeats=settings['repeats'], warmup=0)
    del steps, model, optimizer  # free ~8 GB before the workers start

    if not args.quick:
        workers = [pool.submit(run_worker, a) for a in worker_argvs]
    pool.shutdown(wait=True)
    for future in workers:
        for worker in future.result()['variants']:
            rows[worker['variant']].update(
                peak_rss_mib=worker['peak_rss_mib'],
                peak_rss_after_build_mib=worker['peak_rss_after_build_mib'])
    for variant in VARIANTS:
        rows[variant].update(step_s=median(times[variant]),
                             step_times_s=times[variant])

    pairs = (('lora', 'mmpretrain_lora'), ('mmpretrain_lora', 'full'), ('lora', 'full'))
    ratios = dict(step_s={}, peak_rss_mib={})
    for x, y in pairs:
        key = f'{x}/{y}'
        ratios['step_s'][key] = paired_ratio(times[x], times[y])
        ratios['peak_rss_mib'][key] = _ratio(rows[x]['peak_rss_mib'], rows[y]['peak_rss_mib'])
    wall_s = time.perf_counter() - start

    print_table(
        list(rows.values()),
        ['variant', 'total_params', 'trainable_params', 'optimizer_state_bytes', 'step_s',
         'peak_rss_mib'],
        title=f'Training step, {settings["arch"] if isinstance(settings["arch"], str) else "tiny"}'
              f' @ {settings["img_size"][0]}x{settings["img_size"][1]} (h x w), '
              f'batch {settings["batch_size"]}, CPU fp32, '
              f'median of {settings["repeats"]} interleaved steps')
    print_table(
        [dict(ratio=k, step_s=ratios['step_s'][k], peak_rss_mib=ratios['peak_rss_mib'][k])
         for k in ratios['step_s']],
        ['ratio', 'step_s', 'peak_rss_mib'],
        title='Ratios (times: median over rounds of steps run back to back; reference: '
              'mmpretrain_lora/full step 0.58x, peak RSS 0.49x)')
    per_round = [x / y for x, y in zip(times['lora'], times['mmpretrain_lora'])]
    print('per-round lora/mmpretrain_lora step ratios (their spread is the noise of '
          'this machine): ' + ' '.join(f'{r:.3f}' for r in per_round))
    for metric, label in (('step_s', 'step time'), ('peak_rss_mib', 'peak RSS')):
        print(f'{label} lora/mmpretrain_lora = {ratios[metric]["lora/mmpretrain_lora"]:.3f}x')
    print(f'wall time: {wall_s:.1f} s')

    results = dict(variants=rows, ratios=ratios, per_round_lora_vs_mmpretrain=per_round,
                   wall_s=wall_s)
    write_json(args.out_dir, NAME, dict(settings, quick=args.quick), results)
    return results


if __name__ == '__main__':
    main()
