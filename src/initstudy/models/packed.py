"""Models: M independent networks stacked along a leading *member* axis.

A pack of M runs is one Keras model whose every tensor carries the member axis
first: inputs ``(M, B, *input_shape)``, Dense kernels ``(M, fan_in, fan_out)``,
Conv2D kernels ``(M, kh, kw, in, out)``, logits ``(M, B, classes)``. Members share
no parameter and no op mixes members, so member ``m`` computes exactly what its
solo network computes (up to float summation order), its gradient is its solo
gradient, and an element-wise optimizer (SGD, momentum, Adam, RMSprop) updates it
as it would alone. A solo run is a pack of one.

The architecture, per member (no batch norm, no residuals: initialization matters):

- ``mlp``: flatten, ``depth`` × Dense(width, activation), Dense(classes) head (the
  width is the members' own where the grid has ``widths``, else ``training.width``);
- ``cnn``: ``depth`` × Conv2D(filters, k×k, 'same', activation), global average
  pooling, Dense(classes) head.

Hidden kernels are drawn by each member's initializer spec with seed
``run.init_seed + layer``, hidden biases by its ``bias`` spec (zeros without one)
with seed ``run.init_seed + BIAS_SEED_OFFSET + layer``; the head uses Keras' default
``glorot_uniform`` with seed ``run.init_seed + depth`` and zero biases. :func:`reference_model` builds the
same network as a plain ``keras.Sequential`` (what a user would write), with the same
initializers and seeds, so the two draw identical initial weights.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import ops

from initstudy.inits import resolve as initializers
from initstudy.study.runs import Pack, Run


#: Offset of the bias seeds from the kernel seeds: beyond any depth (the config allows
#: 200), so no layer's biases share a seed with another layer's kernel.
BIAS_SEED_OFFSET = 1 << 20


def hidden_initializers(run: Run, depth: int) -> list[keras.initializers.Initializer]:
    return [initializers.build(run.init, run.init_seed + layer) for layer in range(depth)]


def hidden_bias_initializers(run: Run, depth: int) -> list[keras.initializers.Initializer]:
    return [initializers.build_bias(run.init, run.init_seed + BIAS_SEED_OFFSET + layer) for layer in range(depth)]


def head_initializer(run: Run) -> keras.initializers.Initializer:
    return keras.initializers.GlorotUniform(seed=run.init_seed + run.depth)


def _stacked_initializer(inits: Sequence[keras.initializers.Initializer], member_shape: tuple):
    """An initializer for the stacked weight: member m's slice is ``inits[m](member_shape)``."""

    def draw(shape, dtype=None):
        return ops.stack([init(shape=member_shape, dtype=dtype) for init in inits])

    return draw


def _bias_initializers(inits: Sequence | None, members: int) -> list:
    """Each member's bias initializer: zeros for all without ``inits`` (the head)."""
    return list(inits) if inits is not None else [keras.initializers.Zeros()] * members


class StackedDense(keras.layers.Layer):
    """M Dense layers at once: ``y[m] = x[m] @ W[m] + b[m]`` with ``W`` of shape (M, in, out)."""

    def __init__(self, units: int, kernel_initializers: Sequence, bias_initializers: Sequence | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializers = list(kernel_initializers)
        self.bias_initializers = _bias_initializers(bias_initializers, len(self.kernel_initializers))

    def build(self, input_shape):
        members, fan_in = len(self.kernel_initializers), input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=(members, fan_in, self.units),
            initializer=_stacked_initializer(self.kernel_initializers, (fan_in, self.units)),
        )
        self.bias = self.add_weight(name="bias", shape=(members, self.units),
                                    initializer=_stacked_initializer(self.bias_initializers, (self.units,)))

    def call(self, x):
        return ops.einsum("mbi,mio->mbo", x, self.kernel) + self.bias[:, None, :]


class StackedConv2D(keras.layers.Layer):
    """M Conv2D layers (stride 1, 'same' padding) at once, as im2col + batched matmul.

    Keras has no batched convolution with a different kernel per batch slice; a grouped
    convolution would do it, but TensorFlow runs grouped convolutions on the CPU only
    through XLA (other numbers, other determinism). So: ``extract_patches`` (itself a
    convolution with an identity kernel, exact in float) gives each pixel's k×k×in
    neighbourhood in the (kh, kw, in) order of a Keras kernel, and one einsum applies
    member m's kernel reshaped to (kh·kw·in, out).
    """

    def __init__(self, filters: int, kernel_size: int, kernel_initializers: Sequence,
                 bias_initializers: Sequence | None = None, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.kernel_initializers = list(kernel_initializers)
        self.bias_initializers = _bias_initializers(bias_initializers, len(self.kernel_initializers))

    def build(self, input_shape):
        members, channels, k = len(self.kernel_initializers), input_shape[-1], self.kernel_size
        member_shape = (k, k, channels, self.filters)
        self.kernel = self.add_weight(
            name="kernel", shape=(members, *member_shape),
            initializer=_stacked_initializer(self.kernel_initializers, member_shape),
        )
        self.bias = self.add_weight(name="bias", shape=(members, self.filters),
                                    initializer=_stacked_initializer(self.bias_initializers, (self.filters,)))

    def call(self, x):
        members, _, height, width, channels = ops.shape(x)  # tensors where a retrace relaxed them
        k = self.kernel_size
        images = ops.reshape(x, (-1, height, width, channels))
        patches = ops.image.extract_patches(images, (k, k), strides=(1, 1), padding="same")
        patches = ops.reshape(patches, (members, -1, k * k * channels))
        kernel = ops.reshape(self.kernel, (members, k * k * channels, self.filters))
        y = ops.einsum("mpk,mkf->mpf", patches, kernel)
        y = ops.reshape(y, (members, -1, height, width, self.filters))
        return y + self.bias[:, None, None, None, :]


class MemberActivations(keras.layers.Layer):
    """Apply activation ``a_g`` to each contiguous group of members (packs are sorted
    by activation, so a pack with one activation costs one op)."""

    def __init__(self, groups: Sequence[tuple[str, int]], **kwargs):
        super().__init__(**kwargs)
        self.groups = list(groups)
        self.functions = [keras.activations.get(name) for name, _ in self.groups]

    def call(self, x):
        if len(self.groups) == 1:
            return self.functions[0](x)
        outs, start = [], 0
        for fn, (_, count) in zip(self.functions, self.groups):
            outs.append(fn(x[start:start + count]))
            start += count
        return ops.concatenate(outs, axis=0)


def activation_groups(runs: Sequence[Run]) -> list[tuple[str, int]]:
    groups: list[tuple[str, int]] = []
    for run in runs:
        if groups and groups[-1][0] == run.activation:
            groups[-1] = (run.activation, groups[-1][1] + 1)
        elif any(name == run.activation for name, _ in groups):
            raise ValueError("pack members must be sorted by activation")
        else:
            groups.append((run.activation, 1))
    return groups


class PackedNet(keras.Model):
    """The stacked network of a pack. ``call(x)`` maps (M, B, *input_shape) to logits
    (M, B, classes); ``call(x, return_hidden=True)`` also returns each hidden layer's
    (pre-activation, activation) pair, for the signal diagnostics."""

    def __init__(self, pack: Pack, input_shape: tuple, num_classes: int, width: int,
                 filters: int, kernel_size: int, **kwargs):
        super().__init__(**kwargs)
        runs = pack.runs
        self.arch = runs[0].arch
        self.members = len(runs)
        self.member_input_shape = tuple(input_shape)
        depth = runs[0].depth
        per_layer = list(zip(*(hidden_initializers(r, depth) for r in runs)))
        biases = list(zip(*(hidden_bias_initializers(r, depth) for r in runs)))
        if self.arch == "mlp":
            self.hidden = [StackedDense(width, inits, b, name=f"dense_{i}")
                           for i, (inits, b) in enumerate(zip(per_layer, biases))]
        else:
            self.hidden = [StackedConv2D(filters, kernel_size, inits, b, name=f"conv_{i}")
                           for i, (inits, b) in enumerate(zip(per_layer, biases))]
        self.activation = MemberActivations(activation_groups(runs))
        self.head = StackedDense(num_classes, [head_initializer(r) for r in runs], name="head")

    def call(self, x, return_hidden: bool = False):
        h = x
        if self.arch == "mlp":
            h = ops.reshape(h, (self.members, -1, math.prod(self.member_input_shape)))
        hidden = []
        for layer in self.hidden:
            pre = layer(h)
            h = self.activation(pre)
            hidden.append((pre, h))
        if self.arch == "cnn":
            h = ops.mean(h, axis=(2, 3))
        logits = self.head(h)
        return (logits, hidden) if return_hidden else logits

    @property
    def kernel_positions(self) -> list[int]:
        """Index of each hidden layer's kernel in ``trainable_variables`` (the order of
        the ``params`` a stateless call takes)."""
        variables = self.trainable_variables
        return [next(i for i, v in enumerate(variables) if v is layer.kernel) for layer in self.hidden]

    @property
    def bias_positions(self) -> list[int]:
        """Index of each hidden layer's bias in ``trainable_variables``."""
        variables = self.trainable_variables
        return [next(i for i, v in enumerate(variables) if v is layer.bias) for layer in self.hidden]


def stateless_forward(model: PackedNet):
    """``(params, x) -> (logits, hidden)`` with weights ``params`` (in ``trainable_variables``
    order; the model has no other state) and ``hidden`` each hidden layer's
    (pre-activation, activation) pair."""

    def forward(params, x):
        (logits, hidden), _ = model.stateless_call(params, [], x, return_hidden=True)
        return logits, hidden

    return forward


def build_packed(pack: Pack, input_shape: tuple, num_classes: int, training: dict) -> PackedNet:
    """Build (and so initialize) the stacked model of ``pack`` (its members share a width)."""
    training = pack.runs[0].training_settings(training)
    model = PackedNet(pack, input_shape, num_classes, training["width"], training["filters"],
                      training["kernel_size"], name="packed_" + pack.pack_id.replace("-", "_"))
    model(ops.zeros((len(pack.runs), 1, *input_shape)))
    return model


def reference_model(run: Run, input_shape: tuple, num_classes: int, training: dict) -> keras.Sequential:
    """The same network as a plain ``keras.Sequential`` of Dense/Conv2D layers with
    ``kernel_initializer=...``: what a user would write, and the export format."""
    training = run.training_settings(training)
    inits = zip(hidden_initializers(run, run.depth), hidden_bias_initializers(run, run.depth))
    layers: list[keras.layers.Layer] = [keras.Input(shape=input_shape)]
    if run.arch == "mlp":
        layers.append(keras.layers.Flatten())
        layers += [keras.layers.Dense(training["width"], activation=run.activation, kernel_initializer=i,
                                      bias_initializer=b) for i, b in inits]
    else:
        layers += [keras.layers.Conv2D(training["filters"], training["kernel_size"], padding="same",
                                       activation=run.activation, kernel_initializer=i, bias_initializer=b)
                   for i, b in inits]
        layers.append(keras.layers.GlobalAveragePooling2D())
    layers.append(keras.layers.Dense(num_classes, kernel_initializer=head_initializer(run)))
    return keras.Sequential(layers, name="run")


def member_weights(model: PackedNet, index: int) -> list:
    """Member ``index``'s kernels and biases in ``reference_model`` order."""
    weights = []
    for layer in [*model.hidden, model.head]:
        weights += [ops.convert_to_numpy(layer.kernel[index]), ops.convert_to_numpy(layer.bias[index])]
    return weights
