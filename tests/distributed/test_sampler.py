"""DistributedSampler: PyTorch's index semantics (partition, padding, drop_last, set_epoch)."""

import numpy as np
import pytest

from chainrule.data import DataLoader, DistributedSampler, TensorDataset


def shares(n, replicas, **kwargs):
    return [list(DistributedSampler(range(n), replicas, r, **kwargs)) for r in range(replicas)]


@pytest.mark.parametrize("n, replicas", [(10, 2), (10, 3), (7, 4), (3, 8), (1, 3), (12, 4)])
def test_without_shuffle_rank_r_takes_every_nth_index_of_the_padded_order(n, replicas):
    total = replicas * -(-n // replicas)
    order = [i % n for i in range(total)]   # padded by cycling through the indices again
    for r, share in enumerate(shares(n, replicas, shuffle=False)):
        assert share == order[r:total:replicas]
        assert len(share) == len(DistributedSampler(range(n), replicas, r)) == total // replicas


@pytest.mark.parametrize("n, replicas", [(10, 3), (11, 4), (9, 3), (5, 2)])
def test_shares_partition_the_dataset_and_pad_by_repeating(n, replicas):
    all_shares = shares(n, replicas, shuffle=True, seed=3)
    flat = [i for share in all_shares for i in share]
    assert set(flat) == set(range(n))                      # every sample is seen
    assert len(flat) - n == (-n) % replicas               # and the padding repeats just enough
    assert len({len(s) for s in all_shares}) == 1          # equal shares, equal step counts


@pytest.mark.parametrize("n, replicas", [(10, 3), (11, 4), (12, 4), (5, 2)])
def test_drop_last_cuts_the_tail_instead(n, replicas):
    all_shares = shares(n, replicas, shuffle=True, seed=1, drop_last=True)
    flat = [i for share in all_shares for i in share]
    assert len(flat) == len(set(flat)) == replicas * (n // replicas)
    assert all(len(s) == n // replicas for s in all_shares)


def test_the_order_is_the_same_on_every_rank_and_changes_with_set_epoch():
    def order(epoch, seed=0):
        samplers = [DistributedSampler(range(20), 2, r, seed=seed) for r in range(2)]
        for s in samplers:
            s.set_epoch(epoch)
        return [i for pair in zip(*samplers) for i in pair]   # interleaved back: the order

    first = order(0)
    assert sorted(first) == list(range(20)) and first != list(range(20))
    assert order(0) == first                              # repeatable
    assert order(1) != first                              # a new epoch, a new order
    assert order(1, seed=1) != order(1)
    assert first == np.random.default_rng(0).permutation(20).tolist()  # seed + epoch


def test_defaults_come_from_the_world_and_bad_ranks_are_refused():
    sampler = DistributedSampler(range(5))
    assert (sampler.num_replicas, sampler.rank, sampler.shuffle) == (1, 0, True)
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1"):
        DistributedSampler(range(5), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be >= 1"):
        DistributedSampler(range(5), num_replicas=0, rank=0)


def test_a_loader_batches_the_share():
    X = np.arange(10, dtype=np.float32)[:, None]
    sampler = DistributedSampler(TensorDataset(X), num_replicas=3, rank=1, shuffle=False)
    loader = DataLoader(TensorDataset(X), batch_size=2, sampler=sampler)
    assert [b[0].numpy().ravel().tolist() for b in loader] == [[1.0, 4.0], [7.0, 0.0]]


def test_matches_pytorch_without_shuffle():
    torch_data = pytest.importorskip("torch.utils.data")
    for n in (1, 5, 7, 10, 11):
        for replicas in (1, 2, 3, 4, 8):
            for drop_last in (False, True):
                for r in range(replicas):
                    ours = DistributedSampler(range(n), replicas, r, shuffle=False,
                                              drop_last=drop_last)
                    theirs = torch_data.DistributedSampler(range(n), replicas, r, shuffle=False,
                                                           drop_last=drop_last)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs)
