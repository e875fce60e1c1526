"""Data pipeline: datasets, batching, splitting, and ready-made datasets (``cr.datasets``).

Text for character language models is in :mod:`chainrule.data.text` (``CharDataset``,
``load_text``: the user's file or Python's own sources).

Example:
    >>> from chainrule.data import DataLoader, TensorDataset, random_split
    >>> X, y = cr.datasets.make_moons(1000, noise=0.1, seed=0)
    >>> train, val = random_split(TensorDataset(X, y), [0.8, 0.2], seed=0)
    >>> loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
    >>> X, y, info = load_data_file("houses.csv", target="price")   # or .npz, .npy, a folder
"""

from chainrule.data import datasets, text  # noqa: F401
from chainrule.data.collate import default_collate  # noqa: F401
from chainrule.data.dataset import (  # noqa: F401
    ConcatDataset,
    Dataset,
    Subset,
    TensorDataset,
    random_split,
)
from chainrule.data.distributed import DistributedSampler  # noqa: F401
from chainrule.data.files import (  # noqa: F401
    load_csv,
    load_data_file,
    load_image_folder,
    load_npy,
    load_npz,
)
from chainrule.data.loader import DataLoader  # noqa: F401
from chainrule.data.text import CharDataset  # noqa: F401
