"""A small Transformer encoder that classifies token sequences, and a causal self-attention LM.

Part 1 follows the "Transformer for sequence classification" pattern of public tutorials:
token and learned position embeddings, nn.TransformerEncoder of pre-norm GELU layers
(batch_first), a key-padding mask for padded positions, mean pooling over the real tokens,
AdamW and clip_grad_norm_. The task: does a sequence hold more 1s than 2s?
Part 2 trains a one-block causal language model written with F.scaled_dot_product_attention
(is_causal=True) on a repeating pattern and checks nn.Transformer's square subsequent mask.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = 1e-3
CONVERGED_BELOW = {"classifier_final_loss": 0.35, "lm_final_loss": 0.6}

torch.manual_seed(0)
VOCAB, LENGTH, PAD = 6, 12, 0


def make_batch(n):
    """Random sequences of tokens 1..5 with padding at the end; label: more 1s than 2s."""
    tokens = torch.randint(1, VOCAB, (n, LENGTH))
    lengths = torch.randint(6, LENGTH + 1, (n,))
    positions = torch.arange(LENGTH).unsqueeze(0)
    padding = positions >= lengths.unsqueeze(1)
    tokens = tokens.masked_fill(padding, PAD)
    ones = (tokens == 1).sum(dim=1)
    twos = (tokens == 2).sum(dim=1)
    labels = (ones > twos).long()
    return tokens, padding, labels


class Classifier(nn.Module):
    def __init__(self, d_model=32, nhead=4, layers=2):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, d_model, padding_idx=PAD)
        self.position = nn.Parameter(torch.zeros(1, LENGTH, d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=64, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 2)

    def forward(self, tokens, padding):
        x = self.embed(tokens) + self.position
        x = self.encoder(x, src_key_padding_mask=padding)
        x = self.norm(x)
        keep = (~padding).unsqueeze(-1).float()
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1)
        return self.head(pooled)


model = Classifier()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
criterion = nn.CrossEntropyLoss()
train_tokens, train_padding, train_labels = make_batch(256)
for _epoch in range(8):
    model.train()
    for start in range(0, 256, 32):
        tokens = train_tokens[start:start + 32]
        padding = train_padding[start:start + 32]
        labels = train_labels[start:start + 32]
        optimizer.zero_grad()
        loss = criterion(model(tokens, padding), labels)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()

model.eval()
test_tokens, test_padding, test_labels = make_batch(128)
with torch.no_grad():
    logits = model(test_tokens, test_padding)
    test_loss = criterion(logits, test_labels).item()
    accuracy = (logits.argmax(dim=1) == test_labels).float().mean().item()
print(f"RESULT classifier_final_loss={loss.item()!r}")
print(f"RESULT classifier_grad_norm={float(grad_norm)!r}")
print(f"RESULT classifier_test_loss={test_loss!r}")
print(f"RESULT classifier_test_accuracy={accuracy!r}")


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, nhead):
        super().__init__()
        self.nhead = nhead
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.nhead, C // self.nhead).transpose(1, 2)
        k = k.view(B, T, self.nhead, C // self.nhead).transpose(1, 2)
        v = v.view(B, T, self.nhead, C // self.nhead).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))


class TinyLM(nn.Module):
    def __init__(self, vocab=5, d_model=24, nhead=2, block=8):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(block, d_model)
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, nhead)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * d_model, d_model))
        self.head = nn.Linear(d_model, vocab, bias=False)
        self.head.weight = self.tok.weight  # weight tying

    def forward(self, idx):
        x = self.tok(idx) + self.pos(torch.arange(idx.size(1)))
        x = x + self.attn(self.ln1(x))
        x = x + self.mlp(self.ln2(x))
        return self.head(x)


pattern = torch.tensor([0, 1, 2, 3, 4, 3, 2, 1] * 8)
windows = torch.stack([pattern[i:i + 9] for i in range(0, 48, 3)])
inputs, targets = windows[:, :-1], windows[:, 1:]
lm = TinyLM()
lm_optimizer = torch.optim.Adam(lm.parameters(), lr=1e-2)
for _step in range(60):
    lm_optimizer.zero_grad()
    logits = lm(inputs)
    lm_loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
    lm_loss.backward()
    lm_optimizer.step()

mask = nn.Transformer.generate_square_subsequent_mask(4)
print(f"RESULT lm_final_loss={lm_loss.item()!r}")
print(f"RESULT mask_sum={float(torch.isinf(mask).sum())!r}")
print(f"RESULT tied={float(lm.head.weight is lm.tok.weight)!r}")
