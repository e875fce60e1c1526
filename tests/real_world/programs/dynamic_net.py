"""A dynamic graph: each forward pass uses a different number of terms, with a shared weight.

The model is a polynomial a + b x + c x^2 + d x^3 followed by one to three extra terms
e x^4, e x^5, ..., all reusing the same parameter e. The number of extra terms cycles
deterministically (1, 2, 3, 1, ...) instead of being drawn at random.
"""

import math

import torch

TOLERANCE = 1e-3
CONVERGED_BELOW = {"final_loss": 0.05}


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))
        self.calls = 0

    def forward(self, x):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        extra_terms = 1 + self.calls % 3
        self.calls += 1
        for exp in range(4, 4 + extra_terms):
            y = y + self.e * x ** exp
        return y

    def string(self):
        return (f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2"
                f" + {self.d.item()} x^3 + {self.e.item()} x^4 ? + {self.e.item()} x^5 ?")


# x on [-1, 1] keeps the powers small, so plain SGD with momentum converges quickly.
x = torch.linspace(-1, 1, 200)
y = torch.sin(math.pi * x)

model = DynamicNet()

criterion = torch.nn.MSELoss(reduction="mean")
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
for t in range(600):
    y_pred = model(x)

    loss = criterion(y_pred, y)
    if t % 200 == 199:
        print(t, loss.item())

    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f"Result: {model.string()}")
print(f"RESULT final_loss={loss.item()!r}")
for name, param in model.named_parameters():
    print(f"RESULT {name}={param.item()!r}")
print(f"RESULT parameter_count={float(sum(p.numel() for p in model.parameters()))!r}")
print(f"RESULT dtype_loss={loss.dtype}")
