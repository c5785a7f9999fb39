"""``make bench``'s driver runs the benchmarks and collects their goal lines."""
import json
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

# Subprocess runs of the tools: left out by make test-fast.
pytestmark = pytest.mark.slow


def test_run_all_collects_results_and_goals(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/benchmarks/run_all.py', '--quick', '--only', 'decoding_precision',
         '--out-dir', str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads((tmp_path / 'run_all.json').read_text())
    assert [r['benchmark'] for r in summary['results']['runs']] == ['decoding_precision']
    assert (tmp_path / 'decoding_precision.json').is_file()
    # One goal line per shipped config, as printed by the benchmark.
    goals = summary['results']['goals']
    assert goals and all(g['benchmark'] == 'decoding_precision' for g in goals)
    assert any('medsapiens_head' in g['line'] for g in goals)
