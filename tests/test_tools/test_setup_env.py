"""tools/setup_env.sh builds mmcv's CPU ops only, on GPU nodes too."""
import os.path as osp
import re

from conftest import REPO_ROOT


def _script():
    with open(osp.join(REPO_ROOT, 'tools', 'setup_env.sh')) as f:
        return f.read()


def test_mmcv_is_built_with_cuda_hidden_and_cached_as_a_cpu_build():
    script = _script()
    build = re.search(r'run_step "build mmcv[^\n]*\n\s*env ([^\n]*)', script)
    assert build, 'the mmcv build step was not found'
    flags = build.group(1).split()
    # mmcv's setup.py compiles CUDA kernels when torch sees a GPU or FORCE_CUDA=1.
    assert 'FORCE_CUDA=0' in flags and 'CUDA_VISIBLE_DEVICES=' in flags
    assert 'MMCV_WITH_OPS=1' in flags
    tag = re.search(r'MMCV_TAG="\$\("\$PY" - <<\'PYEOF\'\n(.*?)PYEOF', script, re.S).group(1)
    assert 'cuda' not in tag and tag.rstrip().endswith('-cpu")')
