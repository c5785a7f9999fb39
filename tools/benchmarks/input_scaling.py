"""How Sapiens 0.3B inference scales with the input size, and when attention dominates.

For inputs of 256x192, 512x384 and 1024x768 (h x w; 192x256, 384x512 and
768x1024 as w x h) this measures, each size in a fresh process (peak memory
never goes down within one), one forward pass of the plain backbone
(``SapiensViT(lora=None)``, what a merged LoRA model is) at batch 1, eval
mode, ``torch.inference_mode``, CPU fp32:

* the number of tokens (patch 16, padding 2);
* seconds per image and the peak resident memory of the process;
* the measured share of time in the attention core (score and value
  matmuls, softmax and reshapes: time of each ``attn`` module minus its
  ``qkv`` and ``proj`` linears, from forward hooks);
* an analytic FLOP split per transformer layer: ``4 N^2 D`` for the score and
  value matmuls against ``N (8 D^2 + 4 D F)`` (= ``24 N D^2`` for ``F = 4D``)
  for the qkv, proj and FFN linears. Attention takes over above
  ``N = 2D + F`` tokens (6144 for 0.3B).

The 1024x768 forward takes a minute or more on a 2-core CPU, so it is warmed
up on the smallest input and timed once.

Usage:
    python tools/benchmarks/input_scaling.py [--quick] [--out-dir DIR]
"""
import argparse
import os.path as osp
import time

import torch

import mmpose_medsapiens  # noqa: F401  (registers the plugin)
from mmpose_medsapiens.models import SapiensViT
from mmpose_medsapiens.testing import (QUICK_ARCH, base_parser, median, peak_rss_mib, print_table,
                                       report_result, run_worker, write_json)

NAME = 'input_scaling'
PATCH_SIZE, PATCH_PADDING = 16, 2


def get_settings(quick: bool) -> dict:
    """Arch and, per (h, w) size, the timed repeats and the warm-up input."""
    if quick:
        arch = QUICK_ARCH
        sizes = [dict(size=(64, 48), warmup_size=(64, 48), repeats=2),
                 dict(size=(128, 96), warmup_size=(128, 96), repeats=1),
                 dict(size=(256, 192), warmup_size=(64, 48), repeats=1)]
    else:
        arch = 'sapiens_0.3b'
        sizes = [dict(size=(256, 192), warmup_size=(256, 192), repeats=3),
                 dict(size=(512, 384), warmup_size=(512, 384), repeats=2),
                 # A second full-size forward would add a minute; a small one
                 # warms up the thread pool and the allocator just as well.
                 dict(size=(1024, 768), warmup_size=(256, 192), repeats=1)]
    return dict(arch=arch, batch_size=1, sizes=sizes)


def num_tokens(h: int, w: int) -> int:
    """Tokens of a (h, w) input: patch 16 with padding 2, no class token."""
    grid = [(s + 2 * PATCH_PADDING - PATCH_SIZE) // PATCH_SIZE + 1 for s in (h, w)]
    return grid[0] * grid[1]


def layer_flops(tokens: int, embed_dims: int, ffn_channels: int) -> dict:
    """Multiply-add FLOPs (x2) of one transformer layer for one image.

    Args:
        tokens (int): Sequence length N.
        embed_dims (int): Width D.
        ffn_channels (int): FFN hidden width F.

    Returns:
        dict: ``attention`` (QK^T and AV), ``linear`` (qkv, proj, FFN) and
        ``attention_share`` of their sum.
    """
    attention = 4 * tokens**2 * embed_dims
    linear = tokens * (8 * embed_dims**2 + 4 * embed_dims * ffn_channels)
    return dict(attention=attention, linear=linear,
                attention_share=attention / (attention + linear))


class AttentionTimer:
    """Wall time inside the attention modules, minus their qkv/proj linears.

    Args:
        model (nn.Module): A ViT whose layers have ``attn.qkv`` / ``attn.proj``.
    """

    def __init__(self, model):
        self.attn_s = 0.0
        self.linear_s = 0.0
        self._starts = {}
        self._handles = []
        for layer in model.layers:
            self._watch(layer.attn, 'attn_s')
            self._watch(layer.attn.qkv, 'linear_s')
            self._watch(layer.attn.proj, 'linear_s')

    def _watch(self, module, field):
        def pre_hook(mod, args):
            self._starts[id(mod)] = time.perf_counter()

        def post_hook(mod, args, output):
            setattr(self, field, getattr(self, field)
                    + time.perf_counter() - self._starts.pop(id(mod)))

        self._handles += [module.register_forward_pre_hook(pre_hook),
                          module.register_forward_hook(post_hook)]

    @property
    def core_s(self) -> float:
        return self.attn_s - self.linear_s

    def reset(self):
        self.attn_s = self.linear_s = 0.0

    def remove(self):
        for handle in self._handles:
            handle.remove()


def measure_size(settings: dict, size_index: int) -> dict:
    """Build the model for one input size and time its forward pass.

    Args:
        settings (dict): From :func:`get_settings`.
        size_index (int): Index into ``settings['sizes']``.

    Returns:
        dict: Tokens, times, attention time share and the process' peak RSS.
    """
    spec = settings['sizes'][size_index]
    h, w = spec['size']
    torch.manual_seed(0)
    model = SapiensViT(arch=settings['arch'], img_size=(h, w), lora=None)
    model.eval()  # mmpretrain's ViT.train() returns None, so no chaining
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(settings['batch_size'], 3, h, w, generator=gen)
    warm = torch.randn(settings['batch_size'], 3, *spec['warmup_size'], generator=gen)
    with torch.inference_mode():
        model(warm)  # warm-up, untimed
        timer = AttentionTimer(model)
        times, core, out = [], [], None
        for _ in range(spec['repeats']):
            timer.reset()
            start = time.perf_counter()
            out = model(x)[-1]
            times.append(time.perf_counter() - start)
            core.append(timer.core_s / times[-1])
        timer.remove()
    arch = dict(embed_dims=model.embed_dims, num_layers=model.num_layers,
                feedforward_channels=model.layers[0].ffn.feedforward_channels)
    return dict(size=[h, w], arch_dims=arch, tokens=int(out.shape[-2] * out.shape[-1]),
                times_s=times, s_per_image=median(times) / settings['batch_size'],
                attention_core_time_share=median(core),
                peak_rss_mib=peak_rss_mib())


def run_worker_mode(size_indices, quick: bool) -> dict:
    """Measure the given sizes in this process and report the results."""
    settings = get_settings(quick)
    result = dict(sizes=[measure_size(settings, i) for i in size_indices])
    report_result(result)
    return result


def main(argv=None):
    parser = base_parser(__doc__.split('\n')[0])
    parser.add_argument('--worker', help=argparse.SUPPRESS)  # comma-separated size indices
    args = parser.parse_args(argv)
    if args.worker is not None:
        return run_worker_mode([int(i) for i in args.worker.split(',')], args.quick)

    start = time.perf_counter()
    settings = get_settings(args.quick)
    script = osp.abspath(__file__)
    indices = [str(i) for i in range(len(settings['sizes']))]
    if args.quick:
        # One process for all sizes saves ~10 s of imports per size; the
        # peak RSS then accumulates, but --quick numbers mean nothing anyway.
        groups = [','.join(indices)]
    else:
        groups = indices
    measured = []
    for group in groups:
        worker_argv = [script, '--worker', group] + (['--quick'] if args.quick else [])
        measured += run_worker(worker_argv)['sizes']

    # The parent builds no model: the dims come from a worker.
    dims = measured[0]['arch_dims']
    d, f, layers = dims['embed_dims'], dims['feedforward_channels'], dims['num_layers']
    rows = []
    for spec, m in zip(settings['sizes'], measured):
        h, w = spec['size']
        tokens = num_tokens(h, w)
        flops = layer_flops(tokens, d, f)
        # Transformer layers only; the patch embedding adds well under 1%.
        gflop = layers * (flops['attention'] + flops['linear']) / 1e9
        rows.append(dict(
            size_hxw=f'{h}x{w}', tokens=tokens, measured_tokens=m['tokens'],
            repeats=spec['repeats'], s_per_image=m['s_per_image'], times_s=m['times_s'],
            peak_rss_mib=m['peak_rss_mib'], gflop_per_image=gflop,
            gflop_per_s=gflop / m['s_per_image'],
            attn_flop_share=flops['attention_share'],
            attn_time_share=m['attention_core_time_share'],
            layer_attention_gflop=flops['attention'] / 1e9,
            layer_linear_gflop=flops['linear'] / 1e9))
    crossover_tokens = 2 * d + f
    wall_s = time.perf_counter() - start

    arch_name = settings['arch'] if isinstance(settings['arch'], str) else 'tiny'
    print_table(
        rows, ['size_hxw', 'tokens', 's_per_image', 'peak_rss_mib', 'gflop_per_image',
               'gflop_per_s', 'attn_flop_share', 'attn_time_share'],
        title=f'Inference scaling, {arch_name}, batch {settings["batch_size"]}, CPU fp32 '
              '(attn = score/value matmuls, softmax, reshapes)')
    print_table(
        rows, ['size_hxw', 'tokens', 'layer_attention_gflop', 'layer_linear_gflop',
               'attn_flop_share'],
        title=f'Analytic FLOPs per layer: attention 4*N^2*D vs linears N*(8*D^2 + 4*D*F), '
              f'D={d}, F={f}')
    example_h = -(-crossover_tokens // 48) * 16  # inputs 768 wide have 48 token columns
    print(f'Attention matmuls outweigh the linears above N = 2D + F = {crossover_tokens} '
          f'tokens (e.g. a {example_h}x768 h x w input); at {rows[-1]["size_hxw"]} they are '
          f'{rows[-1]["attn_flop_share"]:.0%} of the FLOPs and take '
          f'{rows[-1]["attn_time_share"]:.0%} of the time.')
    print(f'wall time: {wall_s:.1f} s')

    results = dict(sizes=rows, arch_dims=dims, crossover_tokens=crossover_tokens,
                   wall_s=wall_s)
    write_json(args.out_dir, NAME, dict(settings, quick=args.quick), results)
    return results


if __name__ == '__main__':
    main()
