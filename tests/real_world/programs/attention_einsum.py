"""A one-head self-attention classifier written with einsum, gather and scatter_.

Each input is a sequence of tokens; the class to predict is the largest token in the sequence.
Attention scores and the weighted sum are einsum contractions with a causal mask filled with
-inf; the loss is a label-smoothed cross-entropy built from one-hot targets made with scatter_,
and the plain negative log-likelihood of the right class is read with gather.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = 1e-3
CONVERGED_BELOW = {"final_nll": 0.5}
CONVERGED_ABOVE = {"accuracy": 0.85}

VOCAB, LENGTH, WIDTH = 8, 6, 16


class TinyAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.position = nn.Parameter(torch.zeros(LENGTH, WIDTH))
        self.query = nn.Linear(WIDTH, WIDTH, bias=False)
        self.key = nn.Linear(WIDTH, WIDTH, bias=False)
        self.value = nn.Linear(WIDTH, WIDTH, bias=False)
        self.head = nn.Linear(WIDTH, VOCAB)
        mask = torch.triu(torch.ones(LENGTH, LENGTH), diagonal=1).bool()
        self.register_buffer("mask", mask)

    def forward(self, tokens):
        h = self.embed(tokens) + self.position
        q, k, v = self.query(h), self.key(h), self.value(h)
        scores = torch.einsum("bid,bjd->bij", q, k) / math.sqrt(WIDTH)
        scores = scores.masked_fill(self.mask, float("-inf"))
        weights = F.softmax(scores, dim=-1)
        attended = torch.einsum("bij,bjd->bid", weights, v)
        # The last position has seen the whole sequence.
        return self.head(attended[:, -1] + h[:, -1])


tokens = torch.randint(0, VOCAB, (128, LENGTH))
targets = tokens.max(dim=1).values

model = TinyAttention()
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
smoothing = 0.1

for step in range(80):
    log_probs = F.log_softmax(model(tokens), dim=-1)
    one_hot = torch.zeros(len(targets), VOCAB).scatter_(1, targets.unsqueeze(1), 1.0)
    smoothed = one_hot * (1 - smoothing) + smoothing / VOCAB
    loss = -(smoothed * log_probs).sum(dim=1).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(step, loss.item())

with torch.no_grad():
    log_probs = F.log_softmax(model(tokens), dim=-1)
    nll = -log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    accuracy = (log_probs.argmax(dim=-1) == targets).float().mean().item()

print(f"RESULT final_loss={loss.item()!r}")
print(f"RESULT final_nll={nll.mean().item()!r}")
print(f"RESULT accuracy={accuracy!r}")
print(f"RESULT dtype_tokens={tokens.dtype}")
print(f"RESULT dtype_nll={nll.dtype}")
