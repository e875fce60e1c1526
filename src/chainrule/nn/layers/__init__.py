"""The layers of chainrule.nn, one family per file."""

from chainrule.nn.layers.activation import (  # noqa: F401
    ACTIVATIONS,
    ELU,
    GELU,
    LeakyReLU,
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
    get_activation,
)
from chainrule.nn.layers.attention import MultiheadAttention  # noqa: F401
from chainrule.nn.layers.conv import Conv1d, Conv2d, ConvTranspose2d  # noqa: F401
from chainrule.nn.layers.dropout import Dropout  # noqa: F401
from chainrule.nn.layers.embedding import Embedding  # noqa: F401
from chainrule.nn.layers.flatten import Flatten, Unflatten  # noqa: F401
from chainrule.nn.layers.linear import Identity, Linear  # noqa: F401
from chainrule.nn.layers.normalization import (  # noqa: F401
    BatchNorm1d,
    BatchNorm2d,
    GroupNorm,
    LayerNorm,
)
from chainrule.nn.layers.pooling import (  # noqa: F401
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from chainrule.nn.layers.positional import (  # noqa: F401
    LearnedPositionalEmbedding,
    PositionalEncoding,
)
from chainrule.nn.layers.recurrent import (  # noqa: F401
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    RNNBase,
    RNNCell,
    RNNCellBase,
)
from chainrule.nn.layers.transformer import (  # noqa: F401
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from chainrule.nn.layers.upsampling import (  # noqa: F401
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
