"""A variational autoencoder on the 8x8 digits: encoder, reparameterisation, decoder.

The loss is the binary cross-entropy of the reconstruction plus the KL divergence of the
approximate posterior N(mu, sigma^2) from the prior N(0, 1), summed over the batch.
"""

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

TOLERANCE = 1e-3
CONVERGED_BELOW = {"final_train_loss": 30.0}


class VAE(nn.Module):
    def __init__(self, pixels=64, hidden=32, latent=4):
        super().__init__()
        self.fc1 = nn.Linear(pixels, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, pixels)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    # KL(N(mu, sigma^2) || N(0, 1)) = -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


digits = load_digits()
images = torch.from_numpy(digits.images[:256] / 16.0).float()
train_loader = DataLoader(TensorDataset(images), batch_size=32, shuffle=False)

model = VAE()
optimizer = optim.Adam(model.parameters(), lr=1e-2)


def train(epoch):
    model.train()
    train_loss = 0
    for (data,) in train_loader:
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    average = train_loss / len(train_loader.dataset)
    print(f"====> Epoch: {epoch} Average loss: {average:.4f}")
    return average


for epoch in range(1, 9):
    train_loss = train(epoch)

model.eval()
with torch.no_grad():
    recon, mu, logvar = model(images[:8])
    sample = torch.randn(16, 4)
    sample = model.decode(sample).view(16, 1, 8, 8)

print(f"RESULT final_train_loss={train_loss!r}")
print(f"RESULT mu_mean={mu.mean().item()!r}")
print(f"RESULT logvar_mean={logvar.mean().item()!r}")
print(f"RESULT sample_mean={sample.mean().item()!r}")
print(f"RESULT dtype_images={images.dtype}")
print(f"RESULT dtype_sample={sample.dtype}")
