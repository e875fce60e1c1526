"""`History`: what ``Trainer.fit`` returns, the logs of every epoch (Keras' semantics)."""

from __future__ import annotations


class History:
    """Per-epoch values of the losses and metrics, as lists in ``history``.

    ``history["loss"][e]`` is the mean training loss over epoch ``e``'s samples; validation values
    carry a ``val_`` prefix; ``lr`` is the learning rate the epoch trained with. ``epoch`` lists
    the epoch indices (0-based) and ``params`` the settings of the run (epochs, steps, verbose).

    Example:
        >>> history = trainer.fit((X, y), val=(X_val, y_val), epochs=10)
        >>> history.history["val_loss"][-1]
    """

    def __init__(self):
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        self.params: dict = {}

    def append(self, epoch: int, logs: dict) -> None:
        """Record the logs of ``epoch``."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def truncate(self, n_epochs: int) -> None:
        """Keep the first ``n_epochs`` epochs (used when a run resumes from a checkpoint)."""
        self.epoch = self.epoch[:n_epochs]
        self.history = {k: v[:n_epochs] for k, v in self.history.items()}

    def state_dict(self) -> dict:
        return {"history": {k: list(v) for k, v in self.history.items()},
                "epoch": list(self.epoch)}

    def load_state_dict(self, state: dict) -> None:
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.epoch = list(state["epoch"])

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
