"""Measurement plumbing of the benchmarks: arguments, timing, tables, JSON.

Every benchmark is a plain script ``tools/benchmarks/<name>.py`` that prints a
table and writes ``<out-dir>/<name>.json`` (settings, environment, results).
Ratios are measured side by side in one run (interleaved repeats) because
absolute times on shared machines drift.
"""
import argparse
import datetime
import json
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import time
import traceback
from typing import Callable, Dict, List, Optional, Sequence

RESULT_MARKER = 'BENCH_RESULT '
#: The tiny ViT arch of ``--quick`` runs: seconds per run, numbers meaningless.
QUICK_ARCH = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)

# The folder holding the package: the checkout for the editable install
# ``make setup`` makes, whose commit the reports name.
_CHECKOUT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def base_parser(description: str) -> argparse.ArgumentParser:
    """Argument parser with the options every benchmark takes.

    Args:
        description (str): The parser's description (the script's first line).

    Returns:
        argparse.ArgumentParser: With ``--out-dir`` and ``--quick``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--out-dir', default=osp.join('work_dirs', 'benchmarks'),
                        help='where <name>.json is written')
    parser.add_argument('--quick', action='store_true',
                        help='tiny settings that only check the script runs (numbers meaningless)')
    return parser


def environment() -> dict:
    """What the numbers were measured on: Python, platform, CPUs, torch, commit."""
    info = dict(
        python=platform.python_version(),
        platform=platform.platform(),
        processor=platform.processor() or platform.machine(),
        cpu_count=os.cpu_count(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
    )
    try:
        import torch
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                    cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    except ImportError:
        pass
    try:
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=_CHECKOUT,
                                capture_output=True, text=True, check=False).stdout.strip()
        info['git_commit'] = commit or None
    except OSError:
        info['git_commit'] = None
    return info


def write_json(out_dir: str, name: str, settings: dict, results) -> str:
    """Write ``<out_dir>/<name>.json`` and return its path.

    Args:
        out_dir (str): Folder, created if missing.
        name (str): The benchmark's name.
        settings (dict): What was run.
        results: What was measured (JSON-serialisable).

    Returns:
        str: The path written.
    """
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'{name}.json')
    with open(path, 'w') as f:
        json.dump(dict(benchmark=name, settings=settings, environment=environment(),
                       results=results), f, indent=2)
    print(f'\nwrote {path}')
    return path


def format_table(rows: Sequence[dict], columns: Sequence[str], title: str = '') -> str:
    """Plain-text table of ``rows`` in the order of ``columns``.

    Args:
        rows (Sequence[dict]): One dict per row; missing cells stay empty.
        columns (Sequence[str]): Keys to show, left to right.
        title (str): A line above the table. Defaults to none.

    Returns:
        str: The table, numbers right-aligned.
    """

    def cell(value):
        if isinstance(value, float):
            return f'{value:.4g}' if abs(value) < 1e4 else f'{value:,.0f}'
        if isinstance(value, int) and not isinstance(value, bool):
            return f'{value:,}'
        return str(value)

    cells = [[cell(row.get(c, '')) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [title] if title else []
    lines.append('  '.join(c.ljust(w) for c, w in zip(columns, widths)))
    lines.append('  '.join('-' * w for w in widths))
    lines += ['  '.join(v.rjust(w) for v, w in zip(r, widths)) for r in cells]
    return '\n'.join(lines)


def print_table(rows: Sequence[dict], columns: Sequence[str], title: str = '') -> None:
    """Print :func:`format_table` after a blank line, flushed."""
    print('\n' + format_table(rows, columns, title), flush=True)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    Reads ``VmHWM``, which starts afresh with the address space ``exec``
    creates. ``ru_maxrss`` does not: on Linux a child started from a large
    parent reports at least the parent's peak, so it is only the fallback
    where ``/proc`` is missing.
    """
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_interleaved(fns: Dict[str, Callable[[], None]], repeats: int,
                     warmup: int = 1) -> Dict[str, List[float]]:
    """Seconds per call of each function, measured round-robin.

    Interleaving (a, b, c, a, b, c, ...) exposes every variant to the same
    machine load, so their ratios hold even when absolute times drift.

    Args:
        fns (dict): Name to zero-argument callable, called in this order.
        repeats (int): Timed rounds.
        warmup (int): Untimed rounds first. Defaults to 1.

    Returns:
        dict: Name to the list of seconds per call, one per round.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def time_alternating(fns: dict, repeats: int, warmup: int = 0) -> dict:
    """Round-robin timing (:func:`time_interleaved`) that swaps the first
    two functions every other round.

    Whatever runs right after a heavy step can inherit part of its cost (page
    faults of freshly released memory, cold caches); alternating which of the
    two compared variants goes first shares that out evenly between them.

    Args:
        fns (dict): Name to zero-argument callable; the first two are swapped.
        repeats (int): Timed rounds.
        warmup (int): Untimed rounds first.

    Returns:
        dict: Name to the list of seconds per call, one per round.
    """
    names = list(fns)
    swapped = names[1::-1] + names[2:]
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in names}
    for round_index in range(repeats):
        order = names if round_index % 2 == 0 else swapped
        for name, seconds in time_interleaved({n: fns[n] for n in order}, repeats=1,
                                              warmup=0).items():
            times[name] += seconds
    return times


def sync_device(device: str) -> None:
    """Wait for the GPU's queued work (``device == 'cuda'``) before reading a clock."""
    if device == 'cuda':
        import torch
        torch.cuda.synchronize()


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def paired_ratio(times_a: Sequence[float], times_b: Sequence[float]) -> float:
    """Median over rounds of ``a / b`` timed in the same round.

    Load on a shared machine drifts over minutes; a ratio of two steps run
    back to back is much steadier than a ratio of separate medians.

    Args:
        times_a (Sequence[float]): Seconds of ``a``, one per round.
        times_b (Sequence[float]): Seconds of ``b`` in the same rounds.
    """
    return median([a / b for a, b in zip(times_a, times_b)])


def report_result(result: dict) -> None:
    """Worker side of :func:`run_worker`: print the result as the last marked line."""
    print(RESULT_MARKER + json.dumps(result), flush=True)


def run_worker(argv: Sequence[str], env: Optional[dict] = None) -> dict:
    """Run ``python argv...`` in a fresh process and return its reported result.

    Peak memory is only comparable between fresh processes (``ru_maxrss``
    never goes down), so memory measurements run one variant per process.

    Args:
        argv (Sequence[str]): Script and arguments; the script ends with
            :func:`report_result`.
        env (dict, optional): The process' environment. Defaults to this one's.

    Returns:
        dict: What the worker reported last.
    """
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                          env=env, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f'benchmark worker {" ".join(argv)} failed (exit {proc.returncode}):'
                           f'\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}')
    return json.loads(lines[-1][len(RESULT_MARKER):])


def run_check(results: dict, name: str, fn: Callable, *args) -> dict:
    """Run one check; an exception is that check's failure, not the run's end.

    Args:
        results (dict): Where ``results[name]`` is stored.
        name (str): The check's name.
        fn (Callable): Returns the check's result dict (with ``ok``).
        *args: Passed to ``fn``.

    Returns:
        dict: ``results[name]``: what ``fn`` returned, or ``ok=False`` with
        the ``error`` and its ``traceback``; ``seconds`` added unless given.
    """
    start = time.perf_counter()
    try:
        results[name] = fn(*args)
    except Exception as e:  # noqa: BLE001 - every failure is reported in the table
        results[name] = dict(ok=False, error=f'{type(e).__name__}: {e}',
                             traceback=traceback.format_exc()[-2000:])
    results[name].setdefault('seconds', time.perf_counter() - start)
    return results[name]


def check_detail(result: dict) -> str:
    """One line (at most 160 characters) of what a check found, errors first.

    Args:
        result (dict): A result of :func:`run_check`.
    """
    if 'error' in result:
        return result['error'][:160]
    skip = {'ok', 'output', 'traceback', 'mode'}
    return ', '.join(f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}'
                     for k, v in result.items() if k not in skip)[:160]
