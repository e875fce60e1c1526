"""Data-parallel ``Trainer.fit`` under ``mpiexec``: the trainer's side of it.

Launched under MPI with N > 1 ranks (``mpiexec -n N python -m mpi4py script.py``, or
``chainrule train --nproc N``), ``fit`` trains data-parallel by itself:

- every rank iterates the same loader (same seed, same order) and takes its shard of every
  batch, rows [B r / N, B (r + 1) / N) of a batch of B samples; so the sequence of global
  batches, the checkpoints and resuming do not depend on N (a run saved by 4 ranks resumes in 1);
- the model runs through :class:`~chainrule.nn.parallel.DistributedDataParallel`, which averages
  the gradients. The gradient of a shard of n_r rows is weighted by w_r = n_r N / B (1 for even
  shards), so that for a mean loss the average is the full batch's gradient:
  (1/N) sum_r w_r g_r = (1/B) sum_i g_i. A rank left without rows (a batch smaller than N)
  contributes zeros;
- the logs of an epoch and of validation are exact over all ranks: the running sums (loss, the
  metrics' counts and confusion matrices) are gathered and merged, so callbacks that decide
  (EarlyStopping, ReduceLROnPlateau) decide alike on every rank; a stop asked on one rank during
  an epoch (TerminateOnNaN) is agreed after every batch;
- only rank 0 runs the callbacks that write or print: CSVLogger, ModelCheckpoint, TensorBoard,
  the progress display, and any callback whose ``rank_zero_only`` is True;
- after every epoch rank 0's buffers (running statistics) are broadcast, so that validation and
  the checkpoint see one model;
- random numbers drawn in a step (dropout masks) come from a stream of the rank's own, seeded
  by a key that the global generator draws alike on every rank, so that shards do not share
  masks while the global generator (saved in checkpoints) stays the same on every rank.

Validation is sharded like training; ``evaluate`` and ``predict`` called outside ``fit`` run on
every rank's whole data, without communicating.
"""

from __future__ import annotations

import numpy as np

from chainrule import backend
from chainrule import distributed as dist
from chainrule.creation import from_numpy
from chainrule.distributed.buckets import all_reduce_arrays
from chainrule.tensor import ARRAY_TYPES, Tensor
from chainrule.train.batches import batch_len, split_batch
from chainrule.train.metrics import ConfusionMatrix, MeanMetric, R2Score

__all__ = ["DataParallel", "data_parallel"]


def data_parallel(trainer):
    """A :class:`DataParallel` for ``trainer`` when launched under MPI with several ranks,
    else None (one process: ``fit`` runs as always)."""
    if not dist.is_mpi_launched() or dist.world_size() == 1:
        return None
    if getattr(type(trainer).train_step, "__qualname__", "") != "Trainer.train_step":
        raise NotImplementedError(
            f"{type(trainer).__name__} overrides train_step, which data-parallel fit cannot "
            "shard; run it in one process, or wrap its models in "
            "nn.parallel.DistributedDataParallel in your own train_step")
    return DataParallel(trainer)


def _rows(batch, lo: int, hi: int):
    """Rows lo .. hi - 1 of every Tensor or array in ``batch`` (nested tuples, lists, dicts)."""
    if isinstance(batch, Tensor):
        return from_numpy(batch.data[lo:hi])
    if isinstance(batch, ARRAY_TYPES):
        return batch[lo:hi]
    if isinstance(batch, dict):
        return {k: _rows(v, lo, hi) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_rows(v, lo, hi) for v in batch)
    return batch


def _metric_state(metric) -> dict:
    """The sums a built-in metric accumulates (another metric: its value, rank 0's is used)."""
    if isinstance(metric, ConfusionMatrix):
        return {"matrix": metric.matrix}
    if isinstance(metric, R2Score):
        return {k: getattr(metric, k) for k in ("n", "sum_y", "sum_y2", "ss_res")}
    if isinstance(metric, MeanMetric):
        return {"total": metric.total, "count": metric.count}
    return {"value": metric.compute()}


def _merged(metric, states: list):
    """The metric's value over all ranks: its sums added rank by rank, then computed."""
    if "value" in states[0]:
        return states[0]["value"]
    if "matrix" in states[0]:
        k = max(s["matrix"].shape[0] for s in states)
        total = np.zeros((k, k), dtype=np.int64)
        for s in states:  # confusion matrices grow with the classes seen: pad, then add
            n = s["matrix"].shape[0]
            total[:n, :n] += s["matrix"]
        metric.matrix = total
    else:
        for key in states[0]:
            setattr(metric, key, sum(s[key] for s in states))
    return metric.compute()


class DataParallel:
    """What ``Trainer.fit`` does differently on N > 1 ranks (see the module docstring).

    Attributes:
        rank, size: this rank and the number of ranks N.
        ddp: the DistributedDataParallel wrapper of the trainer's model.
        weight: the gradient weight w_r = n_r N / B of the current shard.
    """

    def __init__(self, trainer):
        from chainrule.data.distributed import DistributedSampler
        from chainrule.nn.parallel import DistributedDataParallel  # nn sits above train

        if isinstance(getattr(trainer.train_loader, "sampler", None), DistributedSampler):
            raise ValueError("Trainer.fit shards every batch over the ranks itself under "
                             "mpiexec: give it a DataLoader without DistributedSampler (the "
                             "same loader on every rank)")
        self.rank, self.size = dist.rank(), dist.world_size()
        self.ddp = DistributedDataParallel(trainer.model)
        self.ddp.register_forward_hook(self._weigh_output)
        self.weight = 1.0

    def _weigh_output(self, module, args, output):
        """Scale the gradient reaching the model's output by the shard's weight."""
        if self.weight != 1.0:
            weight = self.weight
            for t in (output if isinstance(output, (tuple, list)) else (output,)):
                if isinstance(t, Tensor) and t.requires_grad:
                    t.register_hook(lambda grad: grad * weight)

    def shard(self, batch) -> tuple:
        """(this rank's rows of ``batch``, their weight n_r N / B), or (None, 0.0) if none."""
        b = batch_len(split_batch(batch)[0])
        lo, hi = b * self.rank // self.size, b * (self.rank + 1) // self.size
        if hi == lo:
            return None, 0.0
        return _rows(batch, lo, hi), (hi - lo) * self.size / b

    def train_step(self, trainer, batch, logs: dict) -> dict:
        """``trainer.train_step`` on this rank's shard, through the DDP wrapper.

        A batch with fewer rows than ranks (a last, partial batch) is skipped on every rank:
        a rank without rows could not take part in the collectives of the forward pass
        (buffer broadcast, SyncBatchNorm) nor in what ``update_step`` adds (clipping).
        """
        if batch_len(split_batch(batch)[0]) < self.size:
            return logs
        part, self.weight = self.shard(batch)
        key = int(backend.default_generator().integers(2 ** 63))  # the same on every rank
        after = backend.get_rng_state()
        backend.set_rng_state(np.random.default_rng([key, self.rank]).bit_generator.state)
        trainer._step_model = self.ddp
        try:
            return dict(trainer.train_step(trainer._to_device(part)))
        finally:
            trainer._step_model = None
            backend.set_rng_state(after)

    def agree(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is True on any rank (one small all-reduce)."""
        return bool(all_reduce_arrays([np.array([int(bool(flag))], dtype=np.int64)])[0][0])

    def merged_logs(self, trainer) -> dict:
        """The logs over all ranks: every rank's running sums gathered and added in rank
        order (so every rank gets the same numbers), then the means and metrics computed."""
        mine = (dict(trainer._means), [_metric_state(m) for m in trainer._metrics])
        gathered = [None] * self.size
        dist.all_gather_object(gathered, mine)
        sums: dict = {}
        for means, _ in gathered:
            for key, (total, count) in means.items():
                old_total, old_count = sums.get(key, (0.0, 0))
                sums[key] = (old_total + total, old_count + count)
        logs = {k: total / count if count else float("nan") for k, (total, count) in sums.items()}
        for i, metric in enumerate(trainer._metrics):
            logs[metric.name] = _merged(metric, [states[i] for _, states in gathered])
        return logs

    def finish_epoch(self, trainer) -> dict:
        """Broadcast rank 0's buffers and return the epoch's logs over all ranks."""
        self.ddp.sync_buffers()
        return self.merged_logs(trainer)

    def callbacks(self, callbacks) -> list:
        """The callbacks this rank runs: all on rank 0; elsewhere, those that neither write nor
        print (not CSVLogger, ModelCheckpoint, TensorBoard, the progress display)."""
        if self.rank == 0:
            return list(callbacks)
        from chainrule.train.progress import ProgressBar
        from chainrule.train.tensorboard import TensorBoard

        return [cb for cb in callbacks if not getattr(cb, "rank_zero_only", False)
                and not isinstance(cb, (ProgressBar, TensorBoard))]
