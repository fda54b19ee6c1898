"""LinearClsHead follows MMEngine's head contract: a BaseModule with
``init_cfg``, ``predict`` usable without data samples."""
import torch
from mmengine.model import BaseModule

from mer_toolbox.registry import HEADS


def test_head_is_a_base_module_and_init_cfg_applies():
    head = HEADS.build(dict(type='LinearClsHead', in_dim=8, num_classes=6,
                            init_cfg=dict(type='Constant', layer='Linear',
                                          val=0.5, bias=0.0)))
    assert isinstance(head, BaseModule)
    head.init_weights()
    assert torch.all(head.fc.weight == 0.5) and torch.all(head.fc.bias == 0)


def test_predict_without_data_samples():
    head = HEADS.build(dict(type='LinearClsHead', in_dim=8, num_classes=6))
    fused = torch.randn(3, 8)
    samples = head.predict(fused)
    assert len(samples) == 3
    scores = torch.stack([s.pred_score for s in samples])
    torch.testing.assert_close(scores, head(fused).softmax(-1))
    assert [int(s.pred_label) for s in samples] == scores.argmax(1).tolist()
