"""tools/benchmarks/merged_inference.py: quick run, merge equivalence and report."""
import json

import pytest
from conftest import run_tool

# Subprocess runs of the tools: left out by make test-fast.
# The script run end to end: make test-bench (not make test, to keep CI within its time).
pytestmark = [pytest.mark.slow, pytest.mark.benchmark]


def test_quick_run_merged_matches_unmerged(tmp_path):
    run_tool(['tools/benchmarks/merged_inference.py', '--quick', '--out-dir', str(tmp_path)])
    with open(tmp_path / 'merged_inference.json') as f:
        saved = json.load(f)
    results = saved['results']
    assert set(results['variants']) == {'plain', 'merged', 'lora', 'mmpretrain_lora'}
    # Merging and mmpretrain's wrapper compute the same function as our LoRA...
    assert results['merged_vs_unmerged_max_abs_diff'] < 1e-4
    assert results['mmpretrain_vs_lora_max_abs_diff'] < 1e-4
    # ...and the randomised adapters really change it (a zero lora_up would
    # make the merge check vacuous).
    assert results['plain_vs_lora_max_abs_diff'] > 1e-3
    plain = results['variants']['plain']['times_s']
    repeats = saved['settings']['repeats']
    for name, row in results['variants'].items():
        assert len(row['times_s']) == repeats
        # Ratios pair the repeats of one round.
        per_round = sorted(t / p for t, p in zip(row['times_s'], plain))
        assert abs(row['vs_plain'] - 0.5 * (per_round[(repeats - 1) // 2]
                                            + per_round[repeats // 2])) < 1e-9
    assert results['variants']['plain']['vs_plain'] == 1.0
    assert len(results['per_round_merged_vs_plain']) == repeats
