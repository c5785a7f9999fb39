"""The tree passes its own lint (setup.cfg settings, as `make lint` and pre-commit run it)."""
import os.path as osp
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SOURCES = ['mmpose_medsapiens', 'configs', 'tools', 'tests', 'setup.py']


@pytest.mark.parametrize('command', [
    ['-m', 'flake8'],
    ['-m', 'isort', '--check-only', '--diff'],
], ids=['flake8', 'isort'])
def test_tree_passes_lint(command):
    proc = subprocess.run([sys.executable] + command + SOURCES, cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
