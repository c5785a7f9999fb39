"""Process-group set-up and teardown for CPU runs."""
import torch.distributed as torch_dist
from mmengine.config import Config

from mmpose_medsapiens.utils import close_distributed, setup_cpu_distributed


def test_close_distributed_destroys_the_group(tmp_path, monkeypatch):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    monkeypatch.setattr('torch.cuda.is_available', lambda: False)
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', '0')
    monkeypatch.setenv('TORCHELASTIC_USE_AGENT_STORE', 'False')
    cfg = Config(dict(launcher='pytorch'))
    assert close_distributed() is False  # nothing to close outside a distributed run
    try:
        assert setup_cpu_distributed(cfg)
        assert torch_dist.is_initialized()
        assert cfg.model_wrapper_cfg == dict(type='CPUDistributedDataParallel')
        assert close_distributed() is True
        assert not torch_dist.is_initialized()
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()
