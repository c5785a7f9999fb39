"""tools/benchmarks/sapiens2_scaling.py on the meta device, one small size."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

SCRIPT = osp.join(REPO_ROOT, 'tools', 'benchmarks', 'sapiens2_scaling.py')


@pytest.mark.slow
def test_counts_of_a_small_size(tmp_path):
    out = tmp_path / 'scaling.json'
    subprocess.run([sys.executable, SCRIPT, '--archs', 'sapiens2_0.1b', '--batch', '1', '--size',
                    '256', '192', '--json', str(out)], check=True, cwd=str(tmp_path),
                   capture_output=True, text=True)
    row = json.loads(out.read_text())['rows'][0]
    # The frozen backbone is the reference's 0.1b (113,993,472 parameters); its LoRA
    # adapters and the HeatmapHead are what trains.
    assert row['params'] - row['trainable'] == 113_993_472
    # 16x16 patches of 256x192: 192 tokens + 9; bf16 keeps about half of fp32.
    assert row['gflops_per_image'] > 2 * 113e6 * 192 / 1e9
    assert 0.4 < row['activations_bf16_gib'] / row['activations_fp32_gib'] < 0.75
