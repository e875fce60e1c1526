"""A classifier trained from a DataLoader, with a StepLR schedule and a saved checkpoint.

Three Gaussian blobs in the plane are classified by a small MLP (CrossEntropyLoss, SGD with
momentum and weight decay). The learning rate halves every 4 epochs. The trained weights are
saved with torch.save, loaded into a fresh model with load_state_dict, and must give the same
predictions in eval mode.
"""

import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

TOLERANCE = 1e-4
CONVERGED_BELOW = {"final_loss": 0.15, "reload_difference": 1e-6}
CONVERGED_ABOVE = {"accuracy": 0.95}

torch.manual_seed(0)
centers = torch.tensor([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
labels = torch.arange(3).repeat_interleave(100)
points = centers[labels] + 0.6 * torch.randn(300, 2)

# A fixed shuffle, drawn once, so that every epoch sees the batches in the same order.
order = torch.randperm(len(labels))
dataset = TensorDataset(points[order], labels[order])
loader = DataLoader(dataset, batch_size=30, shuffle=False)


class MLP(nn.Module):
    def __init__(self, in_features=2, hidden=16, num_classes=3):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


model = MLP()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)

for epoch in range(12):
    running_loss = 0.0
    for inputs, targets in loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
    scheduler.step()
    epoch_loss = running_loss / len(loader.dataset)
    if epoch % 4 == 3:
        print(f"epoch {epoch + 1}: loss {epoch_loss:.4f}, lr {scheduler.get_last_lr()[0]}")

model.eval()
with torch.no_grad():
    logits = model(points)
    probabilities = F.softmax(logits, dim=1)
    predicted = logits.argmax(dim=1)
    accuracy = (predicted == labels).float().mean().item()

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "mlp.pt")
    torch.save(model.state_dict(), path)
    restored = MLP()
    restored.load_state_dict(torch.load(path))
restored.eval()
with torch.no_grad():
    reload_difference = (restored(points) - logits).abs().max().item()

print(f"RESULT final_loss={epoch_loss!r}")
print(f"RESULT accuracy={accuracy!r}")
print(f"RESULT last_lr={scheduler.get_last_lr()[0]!r}")
print(f"RESULT mean_confidence={probabilities.max(dim=1).values.mean().item()!r}")
print(f"RESULT reload_difference={reload_difference!r}")
print(f"RESULT state_dict_keys={float(len(model.state_dict()))!r}")
print(f"RESULT dtype_logits={logits.dtype}")
print(f"RESULT dtype_predicted={predicted.dtype}")
