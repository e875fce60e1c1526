"""A classifier judged by ranking: top-k accuracy, nucleus filtering and retrieval by distance.

The everyday tensor functions of evaluation code in public tutorials: topk for top-5 accuracy,
sort + cumsum for nucleus (top-p) filtering of logits, argsort for ranks, unique and
count_nonzero for class statistics, cdist for nearest-neighbour retrieval in an embedding
space, flip/roll/cat for a small test-time augmentation, and inference_mode for evaluation.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = 1e-4
CONVERGED_ABOVE = {"top1_accuracy": 0.6, "top5_accuracy": 0.9, "retrieval_accuracy": 0.6}

torch.manual_seed(0)
CLASSES, FEATURES = 10, 16

centers = torch.randn(CLASSES, FEATURES) * 1.5
train_labels = torch.randint(0, CLASSES, (600,))
train_x = centers[train_labels] + torch.randn(600, FEATURES)
test_labels = torch.randint(0, CLASSES, (200,))
test_x = centers[test_labels] + torch.randn(200, FEATURES)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(FEATURES, 32), nn.ReLU(), nn.Linear(32, 8))
        self.head = nn.Linear(8, CLASSES)

    def forward(self, x):
        return self.head(F.relu(self.body(x)))

    def embed(self, x):
        return F.normalize(self.body(x), dim=1)


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for _epoch in range(15):
    for start in range(0, 600, 50):
        x, y = train_x[start:start + 50], train_labels[start:start + 50]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()


def top_k_accuracy(logits, labels, k):
    _, predicted = logits.topk(k, dim=1, largest=True, sorted=True)
    hits = predicted.eq(labels.view(-1, 1).expand_as(predicted))
    return hits.any(dim=1).float().mean().item()


def nucleus_filter(logits, top_p=0.9):
    """Keep the smallest set of classes whose probabilities sum to top_p (Holtzman et al.)."""
    sorted_logits, sorted_indices = torch.sort(logits, descending=True)
    cumulative = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
    remove = cumulative > top_p
    remove[..., 1:] = remove[..., :-1].clone()
    remove[..., 0] = False
    removed = remove.scatter(1, sorted_indices, remove)
    return logits.masked_fill(removed, float("-inf"))


with torch.inference_mode():
    logits = model(test_x)
    augmented = model(torch.cat([test_x.flip(dims=[1]).flip(dims=[1]),
                                 test_x.roll(shifts=0, dims=1)]))
    kept = torch.isfinite(nucleus_filter(logits)).sum(dim=1).float()
    ranks = logits.argsort(dim=1, descending=True).argsort(dim=1)
    true_rank = ranks.gather(1, test_labels.view(-1, 1)).float()
    classes, counts = torch.unique(test_labels, return_counts=True)
    confident = torch.count_nonzero(F.softmax(logits, dim=1).max(dim=1).values > 0.9)
    gallery = model.embed(train_x)
    queries = model.embed(test_x)
    nearest = torch.cdist(queries, gallery).argmin(dim=1)
    retrieval = (train_labels[nearest] == test_labels).float().mean()

print(f"RESULT final_loss={loss.item()!r}")
print(f"RESULT top1_accuracy={top_k_accuracy(logits, test_labels, 1)!r}")
print(f"RESULT top5_accuracy={top_k_accuracy(logits, test_labels, 5)!r}")
print(f"RESULT augmented_logit_sum={augmented.sum().item()!r}")
print(f"RESULT nucleus_mean_kept={kept.mean().item()!r}")
print(f"RESULT mean_true_rank={true_rank.mean().item()!r}")
print(f"RESULT classes_seen={float(classes.numel())!r}")
print(f"RESULT largest_class_count={float(counts.max())!r}")
print(f"RESULT confident_predictions={float(confident)!r}")
print(f"RESULT retrieval_accuracy={retrieval.item()!r}")
