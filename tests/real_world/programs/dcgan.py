"""A small DCGAN on the 8x8 digits: transposed convolutions, batch norm and two Adam optimisers.

The generator maps noise of shape (nz, 1, 1) to an 8x8 image in [-1, 1]; the discriminator maps
an image to the probability that it is real. Each iteration updates the discriminator on a real
and a fake batch, then the generator through the discriminator's verdict on the fake batch.
"""

import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

TOLERANCE = 2e-3
CONVERGED_BELOW = {"final_loss_D": 1.5}
CONVERGED_ABOVE = {"final_D_x": 0.5}

nz = 8  # size of the latent vector
ngf = 8  # generator feature maps
ndf = 8  # discriminator feature maps
nc = 1  # image channels


def weights_init(m):
    """DCGAN's custom initialisation of the convolutions and batch norms."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # nz x 1 x 1 -> (ngf*2) x 2 x 2
            nn.ConvTranspose2d(nz, ngf * 2, 2, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # -> ngf x 4 x 4
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # -> nc x 8 x 8
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            # nc x 8 x 8 -> ndf x 4 x 4
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # -> (ndf*2) x 2 x 2
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # -> 1 x 1 x 1
            nn.Conv2d(ndf * 2, 1, 2, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        return self.main(input)


digits = load_digits()
images = torch.tensor(digits.images[:256] / 8.0 - 1.0, dtype=torch.float32).unsqueeze(1)
dataloader = DataLoader(TensorDataset(images), batch_size=32, shuffle=False)

netG = Generator()
netG.apply(weights_init)
netD = Discriminator()
netD.apply(weights_init)

criterion = nn.BCELoss()
fixed_noise = torch.randn(16, nz, 1, 1)
real_label = 1.0
fake_label = 0.0

optimizerD = optim.Adam(netD.parameters(), lr=2e-3, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=2e-3, betas=(0.5, 0.999))

for epoch in range(3):
    for i, (real_cpu,) in enumerate(dataloader):
        # (1) Update D: maximise log(D(x)) + log(1 - D(G(z)))
        netD.zero_grad()
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        noise = torch.randn(b_size, nz, 1, 1)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()

        # (2) Update G: maximise log(D(G(z)))
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for the generator's cost
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()

        if i % 4 == 0:
            print(f"[{epoch}/3][{i}/{len(dataloader)}] Loss_D: {errD.item():.4f} "
                  f"Loss_G: {errG.item():.4f} D(x): {D_x:.4f} D(G(z)): {D_G_z1:.4f} / "
                  f"{D_G_z2:.4f}")

with torch.no_grad():
    samples = netG(fixed_noise).detach()

print(f"RESULT final_loss_D={errD.item()!r}")
print(f"RESULT final_loss_G={errG.item()!r}")
print(f"RESULT final_D_x={D_x!r}")
print(f"RESULT final_D_G_z={D_G_z2!r}")
print(f"RESULT sample_mean={samples.mean().item()!r}")
print(f"RESULT bn_running_mean={netD.main[3].running_mean.sum().item()!r}")
print(f"RESULT dtype_samples={samples.dtype}")
print(f"RESULT dtype_label={label.dtype}")
