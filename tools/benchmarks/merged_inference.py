"""Inference cost of LoRA before and after ``merge_lora()``.

Times one forward pass (batch 1, eval mode, ``torch.inference_mode``, CPU
fp32) of the Sapiens 0.3B backbone at a 512x384 (h x w) input in four forms:

* ``plain``: ``SapiensViT(lora=None)``, the reference;
* ``lora``: this package's in-place LoRA, unmerged;
* ``merged``: the same adapters folded in with ``merge_lora()``;
* ``mmpretrain_lora``: mmpretrain's ``LoRAModel`` (MedSapiens settings, as
  in ``lora_training_cost.py``), unmerged.

The four are built by :func:`mmpose_medsapiens.testing.build_merge_variants`.

All four share the base weights, and the three LoRA forms share one set of
adapters whose ``lora_up`` is randomised (it starts at zero, which would make
the merge trivial), so they compute the same function; their outputs are
compared (max abs difference). Times are medians of interleaved repeats
(``plain`` and ``merged`` swap places every round); ratios to ``plain`` are
medians of per-round ratios. A merged model is a plain ViT, so only noise
should separate ``merged`` from ``plain``.

Usage:
    python tools/benchmarks/merged_inference.py [--quick] [--out-dir DIR]
"""
import time

import torch

import mmpose_medsapiens  # noqa: F401  (registers the plugin)
from mmpose_medsapiens.testing import (QUICK_ARCH, base_parser, build_merge_variants, median,
                                       paired_ratio, print_table, time_alternating, write_json)

NAME = 'merged_inference'
# The closest pair, plain and merged, runs back to back (in turns first) every round.
VARIANTS = ('plain', 'merged', 'lora', 'mmpretrain_lora')


def get_settings(quick: bool) -> dict:
    """Arch, input and repeat counts of a full or a ``--quick`` run."""
    if quick:
        return dict(arch=QUICK_ARCH, img_size=(64, 48), batch_size=1, warmup=1, repeats=2,
                    lora_up_std=0.05)
    return dict(arch='sapiens_0.3b', img_size=(512, 384), batch_size=1, warmup=1, repeats=4,
                lora_up_std=0.05)


def main(argv=None):
    parser = base_parser(__doc__.split('\n')[0])
    args = parser.parse_args(argv)
    settings = get_settings(args.quick)

    start = time.perf_counter()
    models = build_merge_variants(settings['arch'], settings['img_size'], settings['lora_up_std'])
    h, w = settings['img_size']
    x = torch.randn(settings['batch_size'], 3, h, w, generator=torch.Generator().manual_seed(1))
    outputs = {}

    def forward_fn(name):
        model = models[name]

        def fn():
            with torch.inference_mode():
                outputs[name] = model(x)[-1]

        return fn

    times = time_alternating({name: forward_fn(name) for name in VARIANTS},
                             repeats=settings['repeats'], warmup=settings['warmup'])
    ref = outputs['lora']
    max_abs_diff = {name: float((outputs[name] - ref).abs().max())
                    for name in ('merged', 'mmpretrain_lora', 'plain')}
    rows = []
    for name in VARIANTS:
        rows.append(dict(
            variant=name, forward_s=median(times[name]), times_s=times[name],
            vs_plain=paired_ratio(times[name], times['plain']),
            max_abs_diff_vs_lora=0.0 if name == 'lora' else max_abs_diff[name]))
    by_name = {r['variant']: r for r in rows}
    wall_s = time.perf_counter() - start

    arch_name = settings['arch'] if isinstance(settings['arch'], str) else 'tiny'
    print_table(
        rows, ['variant', 'forward_s', 'vs_plain', 'max_abs_diff_vs_lora'],
        title=f'Inference, {arch_name} @ {h}x{w} (h x w), batch {settings["batch_size"]}, CPU '
              f'fp32, median of {settings["repeats"]} interleaved repeats; vs_plain: median '
              f'of per-round ratios (reference: mmpretrain_lora 1.116x plain)')
    print(f'merged vs unmerged LoRA output: max abs diff {max_abs_diff["merged"]:.3g} '
          f'(output max abs {float(ref.abs().max()):.3g}); plain differs by '
          f'{max_abs_diff["plain"]:.3g}, so the adapters are non-trivial')
    per_round = [m / p for m, p in zip(times['merged'], times['plain'])]
    print('per-round merged/plain ratios (their spread is the noise of this machine): '
          + ' '.join(f'{r:.3f}' for r in per_round))
    print(f'merged = {by_name["merged"]["vs_plain"]:.3f}x plain')
    print(f'wall time: {wall_s:.1f} s')

    results = dict(variants=by_name, merged_vs_unmerged_max_abs_diff=max_abs_diff['merged'],
                   mmpretrain_vs_lora_max_abs_diff=max_abs_diff['mmpretrain_lora'],
                   plain_vs_lora_max_abs_diff=max_abs_diff['plain'],
                   per_round_merged_vs_plain=per_round,
                   output_max_abs=float(ref.abs().max()), wall_s=wall_s)
    write_json(args.out_dir, NAME, dict(settings, quick=args.quick), results)
    return results


if __name__ == '__main__':
    main()
