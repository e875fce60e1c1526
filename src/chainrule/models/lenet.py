"""`LeNet`: the classic convolutional network, two convolutions then three dense layers."""

from __future__ import annotations

from chainrule import nn
from chainrule.nn.layers.conv import Conv2d
from chainrule.nn.layers.pooling import AvgPool2d, MaxPool2d
from chainrule.ops.window import conv_output_size, ntuple


class LeNet(nn.Module):
    """LeNet-5 (LeCun et al., 1998) with the modern defaults (ReLU, max pooling).

    features:   conv k x k (6 maps) -> act -> pool 2 -> conv k x k (16 maps) -> act -> pool 2
    classifier: flatten -> Linear 120 -> act -> Linear 84 -> act -> Linear num_classes (logits)

    The filters are 5 x 5. For 28 x 28 inputs (MNIST) the first convolution pads by 2, as in
    the original: 28 -> 28 -> 14 -> 10 -> 5, so the classifier sees 16 * 5 * 5 = 400 features
    (61,706 parameters in all). Small images (under 16 pixels, such as the 8 x 8 digits of
    scikit-learn) get 'same' padding in both convolutions: 8 -> 8 -> 4 -> 4 -> 2, so
    16 * 2 * 2 = 64 features. The convolutions share their weights across the image: 2,572
    parameters here, where a dense layer from a 28 x 28 image to the 6 x 28 x 28 maps of the
    first convolution alone would need 3.7 million.

    Args:
        num_classes: outputs (logits) of the last layer.
        in_channels: channels of the input images (1 for grey, 3 for colour).
        input_size: the image size, an int or (H, W).
        channels: feature maps of the two convolutions.
        hidden: widths of the two hidden dense layers.
        kernel_size: filter size (an odd int).
        activation: the activation's name (see ``nn.get_activation``): "relu", "tanh", ...
        pool: "max" or "avg" (the original's subsampling).

    Shape:
        (N, in_channels, H, W) -> (N, num_classes).

    Example:
        >>> model = LeNet(input_size=8)
        >>> model(cr.randn(4, 1, 8, 8)).shape
        (4, 10)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size=28,
                 channels=(6, 16), hidden=(120, 84), kernel_size=5, activation="relu",
                 pool="max"):
        super().__init__()
        size = ntuple(input_size, 2, "input_size", "LeNet")
        small = min(size) < 16
        k = int(kernel_size)
        pads = (k // 2, k // 2) if small else (k // 2, 0)
        if pool not in ("max", "avg"):
            raise ValueError(f"LeNet: pool must be 'max' or 'avg', got {pool!r}")
        pool_layer = MaxPool2d if pool == "max" else AvgPool2d
        for p in pads:
            size = tuple(conv_output_size(s, k, 1, p) // 2 for s in size)
        if min(size) < 1:
            raise ValueError(f"LeNet: input_size {input_size} is too small for two {k}x{k} "
                             "convolutions each followed by 2x2 pooling")
        c1, c2 = channels
        self.input_size = ntuple(input_size, 2, "input_size", "LeNet")
        self.features = nn.Sequential(
            Conv2d(in_channels, c1, k, padding=pads[0]), nn.get_activation(activation),
            pool_layer(2),
            Conv2d(c1, c2, k, padding=pads[1]), nn.get_activation(activation), pool_layer(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c2 * size[0] * size[1], hidden[0]), nn.get_activation(activation),
            nn.Linear(hidden[0], hidden[1]), nn.get_activation(activation),
            nn.Linear(hidden[1], num_classes),
        )

    def forward(self, input):
        return self.classifier(self.features(input))

    def feature_maps(self, input) -> list:
        """The output of every layer of ``features`` for ``input`` (for plots), in order."""
        maps = []
        for layer in self.features:
            input = layer(input)
            maps.append(input)
        return maps
