"""Save a general checkpoint, resume training from it, then fine-tune with a frozen body.

A regression MLP (a ModuleList body with BatchNorm1d, and a head) trains for a few epochs with
Adam; the model's and optimiser's state_dicts go into one checkpoint dict written with
torch.save. A fresh model and optimiser load it and train on: the result must equal an
uninterrupted run from the same start. Finally the body is frozen (requires_grad = False) and
only a new head is trained.
"""

import copy
import os
import tempfile

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

TOLERANCE = 1e-4
CONVERGED_BELOW = {"resumed_loss": 0.05, "resume_difference": 1e-5, "frozen_change": 1e-12}

torch.manual_seed(0)
inputs = torch.rand(128, 2) * 4 - 2
targets = (torch.sin(inputs[:, 0]) + 0.25 * inputs[:, 1] ** 2).unsqueeze(1)
loader = DataLoader(TensorDataset(inputs, targets), batch_size=32)


class Regressor(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        # No bias before the batch norm: the norm removes it, leaving it a gradient of pure
        # rounding noise that Adam would amplify.
        self.body = nn.ModuleList([nn.Linear(2, hidden), nn.Linear(hidden, hidden, bias=False)])
        self.norm = nn.BatchNorm1d(hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        x = torch.relu(self.body[0](x))
        x = torch.relu(self.norm(self.body[1](x)))
        return self.head(x)


def train(model, optimizer, epochs):
    criterion = nn.MSELoss()
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
    return loss.item()


model = Regressor()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
initial_state = copy.deepcopy(model.state_dict())
loss = train(model, optimizer, epochs=6)

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "checkpoint.pt")
    torch.save({"epoch": 6, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss}, path)

    resumed = Regressor()
    resumed_optimizer = torch.optim.Adam(resumed.parameters(), lr=0.01)
    checkpoint = torch.load(path)
    resumed.load_state_dict(checkpoint["model_state_dict"])
    resumed_optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    start_epoch = checkpoint["epoch"]
resumed_loss = train(resumed, resumed_optimizer, epochs=12 - start_epoch)

# The same 12 epochs without interruption, from the same initial weights.
reference = Regressor()
reference_optimizer = torch.optim.Adam(reference.parameters(), lr=0.01)
reference.load_state_dict(initial_state)
train(reference, reference_optimizer, epochs=12)

resumed.eval()
reference.eval()
with torch.no_grad():
    resume_difference = (resumed(inputs) - reference(inputs)).abs().max().item()

# Fine-tuning: freeze the body and the norm, train a new head only.
for param in resumed.parameters():
    param.requires_grad = False
resumed.head = nn.Linear(32, 1)
body_before = resumed.body[1].weight.clone()
head_optimizer = torch.optim.SGD(resumed.head.parameters(), lr=0.05, momentum=0.9)
fine_tuned_loss = train(resumed, head_optimizer, epochs=4)
frozen_change = (resumed.body[1].weight - body_before).abs().max().item()
trainable = sum(p.numel() for p in resumed.parameters() if p.requires_grad)

print(f"RESULT checkpoint_loss={loss!r}")
print(f"RESULT resumed_loss={resumed_loss!r}")
print(f"RESULT resume_difference={resume_difference!r}")
print(f"RESULT fine_tuned_loss={fine_tuned_loss!r}")
print(f"RESULT frozen_change={frozen_change!r}")
print(f"RESULT trainable_parameters={float(trainable)!r}")
print(f"RESULT running_mean_sum={resumed.norm.running_mean.sum().item()!r}")
print(f"RESULT dtype_running_var={resumed.norm.running_var.dtype}")
