"""Autoencoders: a network trained to give back its input through a narrow code.

An encoder f maps an input x to a small code h = f(x), a decoder g maps the code back,
x_hat = g(h), and both are trained together to minimise the reconstruction loss
L(x, x_hat) = ||x - x_hat||^2 / n (mean squared error). The code is too small to copy x, so the
network must learn what the inputs have in common: with a 2-D code the codes of the digits can
be drawn as points in the plane, one colour per class.

``Autoencoder`` uses fully connected layers; ``ConvAutoencoder`` uses strided convolutions to
encode and transposed convolutions to decode images.
"""

from __future__ import annotations

import math

from chainrule import nn
from chainrule.models.mlp import MLP
from chainrule.nn.layers.conv import Conv2d, ConvTranspose2d
from chainrule.nn.losses import mse_loss
from chainrule.ops.window import conv_output_size, ntuple


class _AutoencoderBase(nn.Module):
    """What both autoencoders share: encode, decode, forward, and the reconstruction loss."""

    def encode(self, input):
        """The code h = f(x), shape (N, code_size)."""
        return self.encoder(input)

    def decode(self, code):
        """The reconstruction x_hat = g(h), in the shape of the inputs."""
        return self.decoder(code)

    def forward(self, input):
        """x_hat = g(f(x)), the same shape as ``input``."""
        return self.decode(self.encode(input))

    def reconstruction_loss(self, input, reduction: str = "mean"):
        """The loss ``self.loss(x_hat, x)`` of the reconstruction of ``input`` (MSE by default).

        With ``reduction="none"`` the MSE gives one loss per pixel; average over the non-batch
        axes for one error per sample.
        """
        return self.loss(self(input), input, reduction=reduction)


class Autoencoder(_AutoencoderBase):
    """A fully connected (MLP) autoencoder.

    encoder: x (in_features) -> hidden[0] -> ... -> hidden[-1] -> h (code_size), linear code
    decoder: h -> hidden[-1] -> ... -> hidden[0] -> x_hat (in_features) -> output activation
    loss:    L = (1 / n) sum_i (x_i - x_hat_i)^2   (any ``loss(input, target, reduction)``)

    Inputs may be flat vectors (N, in_features) or images (N, C, H, W) when ``input_shape``
    gives (C, H, W): the encoder flattens them and the decoder returns that shape again. The
    default sigmoid output suits data in [0, 1], such as the 8x8 digits of
    ``cr.datasets.load_digits`` (x = pixel / 16).

    Args:
        input_shape: the number of input features, or the shape of one sample (e.g. (1, 8, 8)).
        code_size: the dimension of the code h (2 for a scatter plot of the codes).
        hidden: widths of the encoder's hidden layers (the decoder mirrors them).
        activation: hidden activation (a name or Module class, see ``nn.get_activation``).
        output_activation: the decoder's output activation, or None for a linear output.
        loss: the reconstruction loss, a function (input, target, reduction=...) -> Tensor.

    Shape:
        forward: (N, *input_shape) -> (N, *input_shape); encode: -> (N, code_size).

    Example:
        >>> X, y = cr.datasets.load_digits()
        >>> ae = Autoencoder(64, code_size=2)
        >>> ae.encode(X).shape, ae(X).shape
        ((1797, 2), (1797, 64))
        >>> ae.reconstruction_loss(X).backward()
    """

    def __init__(self, input_shape=64, code_size: int = 2, hidden=(128, 32), activation="relu",
                 output_activation="sigmoid", loss=mse_loss):
        super().__init__()
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        if not shape or any(int(s) < 1 for s in shape) or int(code_size) < 1:
            raise ValueError(f"Autoencoder: input_shape {input_shape!r} and code_size "
                             f"{code_size!r} must be positive")
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        self.input_shape, self.code_size = tuple(int(s) for s in shape), int(code_size)
        self.in_features = math.prod(self.input_shape)
        self.loss = loss
        encoder = MLP([self.in_features, *hidden, self.code_size], activation=activation)
        decoder = MLP([self.code_size, *reversed(hidden), self.in_features],
                      activation=activation, output_activation=output_activation)
        if len(self.input_shape) > 1:
            encoder.insert(0, nn.Flatten())
            decoder.append(nn.Unflatten(1, self.input_shape))
        self.encoder, self.decoder = encoder, decoder

    def extra_repr(self) -> str:
        return f"input_shape={self.input_shape}, code_size={self.code_size}"


class ConvAutoencoder(_AutoencoderBase):
    """A convolutional autoencoder for images.

    encoder: per entry c of ``channels``: Conv2d(3x3, stride 2, padding 1) -> activation, each
             halving the image (H -> ceil(H / 2)); then Flatten -> Linear -> h (code_size)
    decoder: Linear -> activation -> reshape to the last feature maps; per convolution, in
             reverse: ConvTranspose2d(3x3, stride 2, padding 1, output_padding 1 - H mod 2),
             which gives back exactly the size H the convolution had as input; the last one
             outputs ``in_channels`` maps and then the output activation
    loss:    L = (1 / n) sum_i (x_i - x_hat_i)^2

    Strided convolutions replace pooling (they learn how to downsample) and transposed
    convolutions learn how to upsample. For the 8x8 digits and channels (16, 32):
    8x8x1 -> 4x4x16 -> 2x2x32 -> 128 -> code -> 128 -> 2x2x32 -> 4x4x16 -> 8x8x1.

    Args:
        in_channels: channels of the images (1 grey, 3 colour).
        input_size: the image size, an int or (H, W).
        channels: output channels of each strided convolution of the encoder.
        code_size: the dimension of the code h.
        activation: hidden activation (a name or Module class, see ``nn.get_activation``).
        output_activation: the decoder's output activation, or None for a linear output.
        loss: the reconstruction loss, a function (input, target, reduction=...) -> Tensor.

    Shape:
        forward: (N, in_channels, H, W) -> (N, in_channels, H, W); encode: -> (N, code_size).

    Example:
        >>> X, _ = cr.datasets.load_digits(images=True)
        >>> cae = ConvAutoencoder(1, input_size=8, code_size=8)
        >>> cae(X[:4]).shape
        (4, 1, 8, 8)
    """

    def __init__(self, in_channels: int = 1, input_size=8, channels=(16, 32),
                 code_size: int = 16, activation="relu", output_activation="sigmoid",
                 loss=mse_loss):
        super().__init__()
        channels = (channels,) if isinstance(channels, int) else tuple(channels)
        if not channels or int(code_size) < 1:
            raise ValueError(f"ConvAutoencoder: channels {channels!r} must be non-empty and "
                             f"code_size {code_size!r} positive")
        self.in_channels, self.code_size = int(in_channels), int(code_size)
        self.input_size = ntuple(input_size, 2, "input_size", "ConvAutoencoder")
        sizes = [self.input_size]
        for _ in channels:
            sizes.append(tuple(conv_output_size(s, 3, 2, 1) for s in sizes[-1]))
        maps = (channels[-1], *sizes[-1])
        flat = math.prod(maps)

        encoder = []
        for c_in, c_out in zip((self.in_channels, *channels), channels):
            encoder += [Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.get_activation(activation)]
        encoder += [nn.Flatten(), nn.Linear(flat, self.code_size)]

        decoder = [nn.Linear(self.code_size, flat), nn.get_activation(activation),
                   nn.Unflatten(1, maps)]
        outs = (*reversed(channels[:-1]), self.in_channels)
        for i, (c_in, c_out) in enumerate(zip(reversed(channels), outs)):
            target = sizes[-2 - i]
            extra = tuple(1 - s % 2 for s in target)  # NOTE: 2 h' - 1 + extra == target size
            decoder.append(ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1,
                                           output_padding=extra))
            if i < len(channels) - 1:
                decoder.append(nn.get_activation(activation))
        if output_activation is not None:
            decoder.append(nn.get_activation(output_activation))
        self.loss = loss
        self.encoder, self.decoder = nn.Sequential(*encoder), nn.Sequential(*decoder)
        self.sizes = tuple(sizes)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, input_size={self.input_size}, "
                f"code_size={self.code_size}")
