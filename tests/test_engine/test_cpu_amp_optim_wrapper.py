"""``--amp`` on a CPU host trains the LoRA model under bf16 autocast."""
import pytest
import torch
from conftest import run_tool

from mmpose_medsapiens.engine import CPUAmpOptimWrapper


class _Model(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = torch.nn.Linear(4, 3)
        self.head = torch.nn.Linear(3, 2)

    def forward(self, x):
        feats = self.backbone(x)
        self.feat_dtype = feats.dtype
        return self.head(feats)


def test_backbone_runs_in_bf16_head_in_fp32_weights_stay_fp32():
    torch.manual_seed(0)
    model = _Model()
    inner = []
    model.backbone.register_forward_hook(lambda m, i, o: inner.append(o.dtype))
    wrapper = CPUAmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    before = model.backbone.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert inner == [torch.bfloat16]  # computed under autocast
    assert model.feat_dtype == torch.float32 and out.dtype == torch.float32
    wrapper.update_params(out.square().mean())
    assert model.backbone.weight.dtype == torch.float32
    assert not torch.equal(model.backbone.weight, before)
    # Outside the context nothing is autocast any more.
    inner.clear()
    model(torch.randn(3, 4))
    assert inner == [torch.float32]


@pytest.mark.slow
def test_train_tool_amp_on_cpu(tiny_config, tmp_path):
    proc = run_tool(['tools/train.py', tiny_config, '--amp', '--work-dir', str(tmp_path)],
                    cpu_only=True)
    log = proc.stdout + proc.stderr
    assert "type='CPUAmpOptimWrapper'" in log and 'loss:' in log
