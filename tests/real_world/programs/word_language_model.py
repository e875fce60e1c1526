"""A word-level language model: Embedding, a two-layer LSTM and a Linear decoder.

The corpus is tokenised into word indices (with an <eos> token per line), batchified into
columns, and cut into BPTT windows; the hidden state is carried across windows but detached
from the previous window's graph. Gradients are clipped with clip_grad_norm_.
"""

import math

import torch
import torch.nn as nn

TOLERANCE = 1e-3
CONVERGED_BELOW = {"final_train_loss": 1.8}

CORPUS = """the cat sat on the mat
the dog sat on the log
a cat saw a dog on the mat
the dog saw the cat and the cat ran
a bird sat on the dog and the dog sat still
the cat and the dog and the bird sat on the mat
a dog ran to the log and a cat ran to the mat
the bird saw the cat on the log
"""


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


def tokenize(text, dictionary):
    """Word indices of every line of text followed by <eos>."""
    ids = []
    for line in text.splitlines():
        for word in line.split() + ["<eos>"]:
            ids.append(dictionary.add_word(word))
    return torch.tensor(ids, dtype=torch.int64)


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid = nhid
        self.nlayers = nlayers

    def forward(self, input, hidden):
        emb = self.encoder(input)
        output, hidden = self.rnn(emb, hidden)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, decoded.size(-1))
        return decoded, hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))


def batchify(data, bsz):
    # Trim what does not fit, then lay the sequence out in bsz columns.
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def repackage_hidden(h):
    """Detach hidden states from their history."""
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


bptt = 8


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].reshape(-1)
    return data, target


dictionary = Dictionary()
train_data = batchify(tokenize(CORPUS, dictionary), 4)
ntokens = len(dictionary)
model = RNNModel(ntokens, 16, 32, 2)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
clip = 0.5


def train():
    model.train()
    total_loss = 0.0
    hidden = model.init_hidden(4)
    for i in range(0, train_data.size(0) - 1, bptt):
        data, targets = get_batch(train_data, i)
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output, targets)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total_loss += len(data) * loss.item()
    return total_loss / (len(train_data) - 1), grad_norm


def evaluate(data_source):
    model.eval()
    total_loss = 0.0
    hidden = model.init_hidden(4)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output, hidden = model(data, hidden)
            hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


for epoch in range(1, 31):
    train_loss, grad_norm = train()
    if epoch % 10 == 0:
        print(f"| epoch {epoch:3d} | loss {train_loss:5.2f} | ppl {math.exp(train_loss):8.2f}")

eval_loss = evaluate(train_data)
print(f"RESULT vocabulary={float(ntokens)!r}")
print(f"RESULT final_train_loss={train_loss!r}")
print(f"RESULT eval_loss={eval_loss!r}")
print(f"RESULT perplexity={math.exp(eval_loss)!r}")
print(f"RESULT last_grad_norm={float(grad_norm)!r}")
print(f"RESULT dtype_data={train_data.dtype}")
