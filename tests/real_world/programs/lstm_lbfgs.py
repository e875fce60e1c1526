"""Learn sine waves with two stacked LSTMCells, trained by L-BFGS with a closure.

Each sequence is a sine wave with a random phase; the model reads it one step at a time and
predicts the next value, then keeps going on its own predictions for `future` steps. The data
are float64 and the model is converted with .double(), as in the time-sequence example.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

TOLERANCE = 1e-5
CONVERGED_BELOW = {"final_loss": 0.01, "test_loss": 0.02}

HIDDEN = 12


class Sequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, HIDDEN)
        self.lstm2 = nn.LSTMCell(HIDDEN, HIDDEN)
        self.linear = nn.Linear(HIDDEN, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
        c_t = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), HIDDEN, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for _ in range(future):  # predict the future from the model's own output
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


# The data: N sine waves of length L with random shifts, period 2 pi T.
np.random.seed(2)
T, L, N = 4, 24, 10
x = np.empty((N, L), np.int64)
x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
data = np.sin(x / 1.0 / T).astype(np.float64)

input = torch.from_numpy(data[3:, :-1])
target = torch.from_numpy(data[3:, 1:])
test_input = torch.from_numpy(data[:3, :-1])
test_target = torch.from_numpy(data[:3, 1:])

seq = Sequence()
seq.double()
criterion = nn.MSELoss()
optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=10)

for i in range(3):
    print("STEP: ", i)

    def closure():
        optimizer.zero_grad()
        out = seq(input)
        loss = criterion(out, target)
        print("loss:", loss.item())
        loss.backward()
        return loss

    optimizer.step(closure)

    with torch.no_grad():
        future = 6
        pred = seq(test_input, future=future)
        loss = criterion(pred[:, :-future], test_target)
        print("test loss:", loss.item())
        y = pred.detach().numpy()

with torch.no_grad():
    final_loss = criterion(seq(input), target).item()
print(f"RESULT final_loss={final_loss!r}")
print(f"RESULT test_loss={loss.item()!r}")
print(f"RESULT prediction_0_last={float(y[0, -1])!r}")
print(f"RESULT dtype_pred={pred.dtype}")
print(f"RESULT dtype_weight={seq.linear.weight.dtype}")
