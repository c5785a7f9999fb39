"""tools/dist_train.sh and dist_test.sh: what they hand torchrun for one or several nodes."""
import stat

import pytest
from conftest import run_tool


@pytest.fixture
def fake_python(tmp_path):
    """A PYTHON that prints its arguments instead of launching."""
    path = tmp_path / 'python'
    path.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def launch(tool_args, fake_python, check=True, **env):
    proc = run_tool(tool_args, env=dict(PYTHON=fake_python, **env), check=check)
    return proc, proc.stdout.split('\n')


def test_one_node_takes_a_free_port(fake_python, monkeypatch):
    for key in ('PORT', 'NNODES', 'NODE_RANK', 'MASTER_ADDR'):
        monkeypatch.delenv(key, raising=False)
    _, args = launch(['tools/dist_train.sh', 'cfg.py', '8', '--amp'], fake_python)
    assert args[:4] == ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=8']
    assert not any('29500' in a for a in args)
    assert args[4].endswith('tools/train.py') and args[5:8] == ['cfg.py', '--launcher', 'pytorch']
    assert args[8] == '--amp'


def test_a_given_port_is_used(fake_python):
    _, args = launch(['tools/dist_test.sh', 'cfg.py', 'x.pth', '2'], fake_python, PORT='29123')
    assert '--master_port=29123' in args and '--standalone' not in args
    start = args.index('cfg.py')
    assert args[start - 1].endswith('tools/test.py')
    assert args[start:start + 4] == ['cfg.py', 'x.pth', '--launcher', 'pytorch']


def test_several_nodes_pass_rank_address_and_port(fake_python):
    _, args = launch(['tools/dist_train.sh', 'cfg.py', '8'], fake_python, NNODES='2',
                     NODE_RANK='1', MASTER_ADDR='10.0.0.5')
    assert args[2:6] == ['--nnodes=2', '--node_rank=1', '--master_addr=10.0.0.5',
                         '--master_port=29500']


@pytest.mark.parametrize('env, message', [
    (dict(NNODES='2', NODE_RANK='1'), 'NNODES=2 needs MASTER_ADDR'),
    (dict(NNODES='2', NODE_RANK='2', MASTER_ADDR='h'), 'NODE_RANK=2 must be in 0..1'),
])
def test_incomplete_multi_node_settings_stop_before_launching(fake_python, env, message):
    proc, args = launch(['tools/dist_train.sh', 'cfg.py', '8'], fake_python, check=False, **env)
    assert proc.returncode == 2 and message in proc.stderr and 'torch.distributed.run' not in args
