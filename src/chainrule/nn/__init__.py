"""`chainrule.nn`: modules, layers, activations, losses, initialisation and utilities.

Example:
    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    >>> loss = nn.MSELoss()(model(cr.randn(8, 2)), cr.randn(8, 1))
    >>> loss.backward()
"""

from chainrule.nn import functional, init, utils  # noqa: F401,I001
from chainrule.nn.containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from chainrule.nn.layers import (  # noqa: F401
    ELU,
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    PiecewiseLinear,
    ReLU,
    Sigmoid,
    Sign,
    Softmax,
    Softplus,
    Step,
    Tanh,
    Unflatten,
    get_activation,
)
from chainrule.nn.losses import (  # noqa: F401
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from chainrule.nn.module import (  # noqa: F401  (first: everything below builds on Module)
    IncompatibleKeys,
    Module,
    RemovableHandle,
    StateDictError,
)
from chainrule.nn.parameter import Parameter  # noqa: F401
from chainrule.nn.regularization import l1_penalty, l2_penalty  # noqa: F401
from chainrule.nn.summary import ModelSummary, summary  # noqa: F401

from chainrule.nn import rnn_utils  # noqa: F401,E402
from chainrule.nn import parallel  # noqa: F401,E402
from chainrule.nn.layers.sync_batchnorm import SyncBatchNorm  # noqa: F401,E402
from chainrule.nn.layers import (  # noqa: F401,E402
    GRU,
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Conv1d,
    Conv2d,
    ConvTranspose2d,
    MaxPool1d,
    MaxPool2d,
    LSTM,
    RNN,
    Embedding,
    GRUCell,
    LSTMCell,
    RNNCell,
    GroupNorm,
    LearnedPositionalEmbedding,
    MultiheadAttention,
    PositionalEncoding,
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
