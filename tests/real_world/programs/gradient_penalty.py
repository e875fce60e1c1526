"""Gradients of gradients in training: WGAN-GP, and double backpropagation through attention.

Part 1 follows the improved-WGAN tutorials (Gulrajani et al., 2017) on a ring of eight
Gaussians, in float64 (.double(): a GAN's two players amplify round-off, and float32 runs of the
two frameworks part after about 30 steps): the critic uses layer norm (the paper's advice: no
batch norm with the penalty) and is trained five times per generator step with Adam(1e-3,
betas=(0.5, 0.9)); the gradient penalty
10 (|grad D(x_hat)| - 1)^2 at random interpolates needs torch.autograd.grad(...,
create_graph=True), then a backward through that gradient.
Part 2 is "double backpropagation" (Drucker and LeCun, 1992) on a small self-attention
regressor (LayerNorm, attention written out, nn.MSELoss): the loss adds the squared norm of its
own gradient with respect to the inputs. (The attention is written out because PyTorch's CPU
F.scaled_dot_product_attention has no second derivative; chainrule's has, and
tests/nn/test_attention.py checks it.)
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = 1e-3
CONVERGED_BELOW = {"mode_distance": 1.3, "regressor_final_loss": 0.5}  # from 1.5 and 1.0

torch.manual_seed(0)

# ---- Part 1: WGAN-GP --------------------------------------------------------------------------
CENTERS = torch.tensor([[2 * math.cos(2 * math.pi * k / 8), 2 * math.sin(2 * math.pi * k / 8)]
                        for k in range(8)]).double()


def real_batch(n):
    modes = torch.randint(0, 8, (n,))
    return CENTERS[modes] + 0.05 * torch.randn(n, 2).double()


generator = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2)).double()
critic = nn.Sequential(nn.Linear(2, 64), nn.LayerNorm(64), nn.LeakyReLU(0.2),
                       nn.Linear(64, 64), nn.LayerNorm(64), nn.LeakyReLU(0.2),
                       nn.Linear(64, 1)).double()
opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9))
opt_d = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))


def gradient_penalty(real, fake):
    alpha = torch.rand(real.size(0), 1).double()
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(x_hat)
    grads, = torch.autograd.grad(outputs=scores, inputs=x_hat,
                                 grad_outputs=torch.ones_like(scores),
                                 create_graph=True, retain_graph=True)
    return ((grads.norm(2, dim=1) - 1) ** 2).mean()


for _step in range(100):
    for _ in range(5):
        real = real_batch(64)
        fake = generator(torch.randn(64, 2).double()).detach()
        penalty = gradient_penalty(real, fake)
        d_loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
    g_loss = -critic(generator(torch.randn(64, 2).double())).mean()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()

with torch.no_grad():
    samples = generator(torch.randn(256, 2).double())
    distance = torch.cdist(samples, CENTERS).min(dim=1).values.mean()
print(f"RESULT critic_loss={d_loss.item()!r}")
print(f"RESULT penalty={penalty.item()!r}")
print(f"RESULT generator_loss={g_loss.item()!r}")
print(f"RESULT mode_distance={distance.item()!r}")


# ---- Part 2: double backpropagation through attention -----------------------------------------
class AttentionRegressor(nn.Module):
    def __init__(self, features=4, width=16, heads=2):
        super().__init__()
        self.heads = heads
        self.embed = nn.Linear(features, width)
        self.norm = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.head = nn.Linear(width, 1)

    def forward(self, x):
        batch, length, _ = x.shape
        h = self.norm(self.embed(x))
        q, k, v = self.qkv(h).chunk(3, dim=-1)
        q, k, v = (t.reshape(batch, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        weights = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
        y = weights @ v
        y = y.transpose(1, 2).reshape(batch, length, -1)
        return self.head(h + y).mean(dim=1)


inputs = torch.randn(48, 6, 4)
targets = (inputs[:, :, 0] * inputs[:, :, 1]).mean(dim=1, keepdim=True) + inputs[:, 0, 2:3]
regressor = AttentionRegressor()
optimizer = torch.optim.Adam(regressor.parameters(), lr=1e-2)
criterion = nn.MSELoss()
for _epoch in range(40):
    for start in range(0, 48, 16):
        x = inputs[start:start + 16].clone().requires_grad_(True)
        y = targets[start:start + 16]
        loss = criterion(regressor(x), y)
        input_grad, = torch.autograd.grad(loss, x, create_graph=True)
        total = loss + 0.1 * input_grad.pow(2).sum()
        optimizer.zero_grad()
        total.backward()
        optimizer.step()

with torch.no_grad():
    final = criterion(regressor(inputs), targets)
print(f"RESULT regressor_final_loss={final.item()!r}")
print(f"RESULT input_gradient_norm={input_grad.norm().item()!r}")
