"""Inference cost of LoRA before and after ``merge_lora()``.

Times one forward pass (batch 1, eval mode, ``torch.inference_mode``, CPU
fp32) of the Sapiens 0.3B backbone at a 512x384 (h x w) input in four forms:

* ``plain``: ``SapiensViT(lora=None)``, the reference;
* ``lora``: this package's in-place LoRA, unmerged;
* ``merged``: the same adapters folded in with ``merge_lora()``;
* ``mmpretrain_lora``: mmpretrain's ``LoRAModel`` (MedSapiens settings, as
  in ``lora_training_cost.py``), unmerged.

All four share the base weights, and the three LoRA forms share one set of
adapters whose ``lora_up`` is randomised (it starts at zero, which would make
the merge trivial), so they compute the same function; their outputs are
compared (max abs difference). Times are medians of interleaved repeats
(``plain`` and ``merged`` swap places every round); ratios to ``plain`` are
medians of per-round ratios.

Goal: ``merged`` costs at most 1.01x ``plain`` (a merged model is a plain
ViT, so only noise should separate them).

Usage:
    python tools/benchmarks/merged_inference.py [--quick] [--out-dir DIR]
"""
import copy
import re
import time

import _common
from lora_training_cost import build_variant

NAME = 'merged_inference'
# The goal's pair, plain and merged, runs back to back (in turns first) every round.
VARIANTS = ('plain', 'merged', 'lora', 'mmpretrain_lora')
GOAL = 1.01


def get_settings(quick: bool) -> dict:
    """Arch, input and repeat counts of a full or a ``--quick`` run."""
    if quick:
        return dict(arch=_common.QUICK_ARCH, img_size=(64, 48), batch_size=1, warmup=1, repeats=2,
                    lora_up_std=0.05)
    return dict(arch='sapiens_0.3b', img_size=(512, 384), batch_size=1, warmup=1, repeats=4,
                lora_up_std=0.05)


def _to_mmpretrain_keys(state_dict: dict) -> dict:
    """Rename in-place LoRA keys to the ``original_layer`` layout of mmpretrain."""
    pattern = re.compile(r'^(.*\.attn\.(?:qkv|proj))\.(weight|bias)$')
    return {pattern.sub(r'\1.original_layer.\2', k): v for k, v in state_dict.items()}


def build_variants(arch, img_size, lora_up_std: float = 0.05, seed: int = 0) -> dict:
    """Build the four forms, in eval mode, on shared weights and adapters.

    Args:
        arch (str | dict): Sapiens arch name or arch dict.
        img_size (tuple): Input size as (h, w).
        lora_up_std (float): Std of the random ``lora_up`` weights.
        seed (int): Seed of the base weights and adapters.

    Returns:
        dict: Variant name to model.
    """
    import torch

    torch.manual_seed(seed)
    plain = build_variant('full', arch, img_size)  # SapiensViT(lora=None)
    lora = build_variant('lora', arch, img_size)
    # Base weights equal to plain's; the adapters stay as built, then get a
    # non-zero lora_up so that merging changes the weights.
    lora.load_state_dict(plain.state_dict(), strict=False)
    with torch.no_grad():
        for module in lora.lora_modules().values():
            module.lora_up.weight.normal_(0, lora_up_std)
    merged = copy.deepcopy(lora)
    merged.merge_lora()
    mmpretrain_lora = build_variant('mmpretrain_lora', arch, img_size)
    # Same weights and adapters as ``lora`` (LoRAModel's own state_dict keeps
    # only the adapters, so load into the wrapped module).
    mmpretrain_lora.module.load_state_dict(_to_mmpretrain_keys(lora.state_dict()))

    models = dict(plain=plain, lora=lora, merged=merged, mmpretrain_lora=mmpretrain_lora)
    for model in models.values():
        model.eval()
    return models


def main(argv=None):
    parser = _common.base_parser(__doc__.split('\n')[0])
    args = parser.parse_args(argv)
    settings = get_settings(args.quick)

    import torch
    start = time.perf_counter()
    models = build_variants(settings['arch'], settings['img_size'], settings['lora_up_std'])
    h, w = settings['img_size']
    x = torch.randn(settings['batch_size'], 3, h, w, generator=torch.Generator().manual_seed(1))
    outputs = {}

    def forward_fn(name):
        model = models[name]

        def fn():
            with torch.inference_mode():
                outputs[name] = model(x)[-1]

        return fn

    times = _common.time_alternating({name: forward_fn(name) for name in VARIANTS},
                             repeats=settings['repeats'], warmup=settings['warmup'])
    ref = outputs['lora']
    max_abs_diff = {name: float((outputs[name] - ref).abs().max())
                    for name in ('merged', 'mmpretrain_lora', 'plain')}
    rows = []
    for name in VARIANTS:
        rows.append(dict(
            variant=name, forward_s=_common.median(times[name]), times_s=times[name],
            vs_plain=_common.paired_ratio(times[name], times['plain']),
            max_abs_diff_vs_lora=0.0 if name == 'lora' else max_abs_diff[name]))
    by_name = {r['variant']: r for r in rows}
    goal_met = by_name['merged']['vs_plain'] <= GOAL
    wall_s = time.perf_counter() - start

    arch_name = settings['arch'] if isinstance(settings['arch'], str) else 'tiny'
    _common.print_table(
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
    print(f'{"GOAL MET" if goal_met else "GOAL MISSED"}: merged = '
          f'{by_name["merged"]["vs_plain"]:.3f}x plain (goal <= {GOAL}x)')
    print(f'wall time: {wall_s:.1f} s')

    results = dict(variants=by_name, merged_vs_unmerged_max_abs_diff=max_abs_diff['merged'],
                   mmpretrain_vs_lora_max_abs_diff=max_abs_diff['mmpretrain_lora'],
                   plain_vs_lora_max_abs_diff=max_abs_diff['plain'],
                   per_round_merged_vs_plain=per_round,
                   output_max_abs=float(ref.abs().max()), goal=GOAL, goal_met=goal_met,
                   wall_s=wall_s)
    _common.write_json(args.out_dir, NAME, dict(settings, quick=args.quick), results)
    return results


if __name__ == '__main__':
    main()
