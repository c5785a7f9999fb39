"""Run every CPU benchmark, one fresh process each, and summarise the goals.

Each benchmark prints its own table and writes ``<out-dir>/<name>.json``;
this script adds ``<out-dir>/run_all.json`` with the wall time of each and
every ``GOAL MET`` / ``GOAL MISSED`` line they printed. The GPU benchmark
runs only when CUDA is available (or when named with ``--only``).

Usage:
    python tools/benchmarks/run_all.py [--out-dir work_dirs/benchmarks] [--quick]
        [--only decoding_precision data_pipeline_throughput ...]
"""
import os.path as osp
import subprocess
import sys
import time

from _common import base_parser, print_table, write_json

HERE = osp.dirname(osp.abspath(__file__))
CPU_BENCHMARKS = ('decoding_precision', 'data_pipeline_throughput', 'lora_training_cost',
                  'merged_inference', 'input_scaling', 'image_probe_cost', 'cpu_inference')
GPU_BENCHMARKS = ('gpu_benchmark', )


def _cuda_available() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def main(argv=None):
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--only', nargs='+', choices=CPU_BENCHMARKS + GPU_BENCHMARKS,
                        help='run these benchmarks only')
    args = parser.parse_args(argv)
    names = args.only or (CPU_BENCHMARKS + (GPU_BENCHMARKS if _cuda_available() else ()))

    rows, goals, failed = [], [], []
    for name in names:
        cmd = [sys.executable, osp.join(HERE, f'{name}.py'), '--out-dir', args.out_dir]
        if args.quick:
            cmd.append('--quick')
        print(f'\n===== {name}: {" ".join(cmd)}', flush=True)
        start = time.perf_counter()
        # Output streams through so progress shows; goals are picked from it.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = []
        for line in proc.stdout:
            print(line, end='', flush=True)
            lines.append(line.rstrip('\n'))
        proc.wait()
        seconds = time.perf_counter() - start
        rows.append(dict(benchmark=name, exit=proc.returncode, seconds=round(seconds, 1)))
        if proc.returncode:
            failed.append(name)
        goals += [dict(benchmark=name, line=' '.join(line.split())) for line in lines
                  if 'GOAL MET' in line or 'GOAL MISSED' in line]

    print_table(rows, ['benchmark', 'exit', 'seconds'], 'Benchmarks run')
    print('\nGoals:')
    for goal in goals:
        print(f'  [{goal["benchmark"]}] {goal["line"]}')
    total = sum(r['seconds'] for r in rows)
    print(f'\ntotal {total:.0f} s ({total / 60:.1f} min)')
    write_json(args.out_dir, 'run_all', dict(quick=args.quick, benchmarks=list(names)),
               dict(runs=rows, goals=goals, total_seconds=round(total, 1)))
    if failed:
        print(f'benchmarks that failed: {", ".join(failed)}')
        sys.exit(1)


if __name__ == '__main__':
    main()
