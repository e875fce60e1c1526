"""An MNIST-style convolutional network on scikit-learn's 8x8 digits.

Two convolutions, max pooling, two linear layers and log_softmax, trained with nll_loss and
Adadelta under a StepLR schedule; train() and test() functions as in the classic example.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset

TOLERANCE = 1e-3
CONVERGED_BELOW = {"final_test_loss": 0.8}
CONVERGED_ABOVE = {"test_accuracy": 0.75}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)  # 8x8 -> 6x6
        x = F.relu(x)
        x = self.conv2(x)  # 6x6 -> 4x4
        x = F.relu(x)
        x = F.max_pool2d(x, 2)  # 4x4 -> 2x2
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 4 == 0:
            print(f"Train Epoch: {epoch} [{batch_idx * len(data)}/{len(train_loader.dataset)}]"
                  f"\tLoss: {loss.item():.6f}")
    return loss.item()


def test(model, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print(f"Test set: Average loss: {test_loss:.4f}, Accuracy: {correct}/"
          f"{len(test_loader.dataset)}")
    return test_loss, correct / len(test_loader.dataset)


def main():
    torch.manual_seed(1)
    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(digits.target, dtype=torch.long)
    images = (images - 0.3) / 0.4  # roughly zero mean, unit variance

    train_dataset = TensorDataset(images[:320], labels[:320])
    test_dataset = TensorDataset(images[1000:1200], labels[1000:1200])
    train_loader = DataLoader(train_dataset, batch_size=32, shuffle=False)
    test_loader = DataLoader(test_dataset, batch_size=100)

    model = Net()
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.8)
    for epoch in range(1, 6):
        train_loss = train(model, train_loader, optimizer, epoch)
        test_loss, accuracy = test(model, test_loader)
        scheduler.step()

    print(f"RESULT final_train_loss={train_loss!r}")
    print(f"RESULT final_test_loss={test_loss!r}")
    print(f"RESULT test_accuracy={accuracy!r}")
    print(f"RESULT last_lr={scheduler.get_last_lr()[0]!r}")
    print(f"RESULT conv1_weight_sum={model.conv1.weight.sum().item()!r}")
    print(f"RESULT dtype_images={images.dtype}")
    print(f"RESULT dtype_labels={labels.dtype}")
    print(f"RESULT dtype_output={model(images[:2]).dtype}")


if __name__ == "__main__":
    main()
