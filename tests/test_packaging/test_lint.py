"""The tree passes its own lint (setup.cfg settings, as `make lint` and pre-commit run it)."""
import os
import os.path as osp
import re
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


def test_no_copyright_line_of_another_organisation():
    """The project's files carry no copyright header copied from another project."""
    found = []
    for top in SOURCES:
        path = osp.join(REPO_ROOT, top)
        files = [path] if osp.isfile(path) else [
            osp.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(('.py', '.sh'))]
        for name in files:
            with open(name, encoding='utf-8') as f:
                head = f.read(2000)
            if re.search(r'^#.*(copyright|all rights reserved)', head, re.I | re.M):
                found.append(osp.relpath(name, REPO_ROOT))
    assert not found, found
