"""Model summaries: layers, output shapes, parameter counts (SPEC 3)."""

import chainrule as cr
from chainrule import nn


def test_counts_shapes_and_table():
    model = nn.Sequential(nn.Linear(784, 100), nn.ReLU(), nn.Dropout(0.1), nn.Linear(100, 10))
    lines = []
    s = model.summary((32, 784), print_fn=lines.append)
    assert s.total_params == (784 + 1) * 100 + (100 + 1) * 10 == 79510
    assert s.trainable_params == 79510 and s.non_trainable_params == 0
    assert [r.name for r in s.rows] == ["0", "1", "2", "3"]
    assert [r.output_shape for r in s.rows] == [(32, 100), (32, 100), (32, 100), (32, 10)]
    assert [r.num_params for r in s.rows] == [78500, 0, 0, 1010]
    assert "Total params: 79,510" in lines[0] and "0 (Linear)" in lines[0]
    assert str(s) == lines[0]


def test_frozen_parameters_batch_norm_and_mode_restored():
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 2))
    model[0].requires_grad_(False)
    model.train()
    stats = model[1].running_mean.numpy().copy()
    s = model.summary((1, 4), print_fn=None)  # batch of one: evaluation mode inside
    assert s.total_params == 40 + 16 + 18
    assert s.non_trainable_params == 40 and s.trainable_params == 34
    assert model.training and model[1].training
    assert (model[1].running_mean.numpy() == stats).all()
    assert not s.rows[0].trainable and s.rows[3].trainable


def test_nested_modules_and_no_input_shape():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
            self.head = nn.Linear(4, 1)
            self.temperature = nn.Parameter(cr.ones(1))

        def forward(self, x):
            return self.head(self.body(x)) / self.temperature

    s = nn.summary(Net(), print_fn=None)
    assert [r.name for r in s.rows] == ["Net", "body.0", "body.1", "head"]
    assert s.rows[0].num_params == 1 and s.rows[0].output_shape is None
    assert s.total_params == 1 + 16 + 5
    s2 = nn.summary(Net(), (2, 3), print_fn=None)
    assert s2.rows[0].output_shape == (2, 1) and s2.rows[2].output_shape == (2, 4)
