"""Run every CPU benchmark, one fresh process each, and summarise their run times.

Each benchmark prints its own table and writes ``<out-dir>/<name>.json``;
this script adds ``<out-dir>/run_all.json`` with the exit status and wall
time of each. The GPU benchmark runs only when CUDA is available (or when
named with ``--only``).

Usage:
    python tools/benchmarks/run_all.py [--out-dir work_dirs/benchmarks] [--quick]
        [--only decoding_precision data_pipeline_throughput ...]
"""
import os.path as osp
import subprocess
import sys
import time

import torch

from mmpose_medsapiens.testing import base_parser, print_table, write_json

HERE = osp.dirname(osp.abspath(__file__))
CPU_BENCHMARKS = ('decoding_precision', 'data_pipeline_throughput', 'lora_training_cost',
                  'merged_inference', 'input_scaling', 'image_probe_cost', 'cpu_inference')
GPU_BENCHMARKS = ('gpu_benchmark', )


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--only', nargs='+', choices=CPU_BENCHMARKS + GPU_BENCHMARKS,
                        help='run these benchmarks only')
    args = parser.parse_args(argv)
    names = args.only or (CPU_BENCHMARKS + (GPU_BENCHMARKS if torch.cuda.is_available() else ()))

    rows, failed = [], []
    for name in names:
        cmd = [sys.executable, osp.join(HERE, f'{name}.py'), '--out-dir', args.out_dir]
        if args.quick:
            cmd.append('--quick')
        print(f'\n===== {name}: {" ".join(cmd)}', flush=True)
        start = time.perf_counter()
        # The benchmark's output streams through, so its progress shows.
        proc = subprocess.run(cmd, check=False)
        seconds = time.perf_counter() - start
        rows.append(dict(benchmark=name, exit=proc.returncode, seconds=round(seconds, 1)))
        if proc.returncode:
            failed.append(name)

    print_table(rows, ['benchmark', 'exit', 'seconds'], 'Benchmarks run')
    total = sum(r['seconds'] for r in rows)
    print(f'\ntotal {total:.0f} s ({total / 60:.1f} min)')
    write_json(args.out_dir, 'run_all', dict(quick=args.quick, benchmarks=list(names)),
               dict(runs=rows, total_seconds=round(total, 1)))
    if failed:
        print(f'benchmarks that failed: {", ".join(failed)}')
        sys.exit(1)


if __name__ == '__main__':
    main()
