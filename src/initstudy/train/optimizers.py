"""The config's optimizers, built by Keras.

Every config name is a Keras optimizer name except ``momentum``, which is SGD with
the config's ``training.momentum``. All four update each parameter element by
element, which is what lets one optimizer train the members of a pack as if each
were alone (see :mod:`initstudy.models.packed`).

A pack whose members train at one learning rate (every pack of a study without
``grid.learning_rates``) gets the plain Keras optimizer at that rate. A pack whose
members differ in rate (they differ in nothing else that shapes the model) gets the
same Keras optimizer with a learning rate per member (:func:`pack_optimizer`): each
variable's update uses the rates as a tensor of shape (M, 1, ..., 1), broadcast
against the variable's leading member axis. Member m's update is then the solo
update at its rate, bit for bit: an element-wise product or quotient with a
broadcast value is the same IEEE operation as with a scalar. Adam is the exception
that needs care: Keras folds the rate into a scalar step size ``alpha = lr *
sqrt(1 - beta_2^t) / (1 - beta_1^t)``, and with a vector ``lr`` the XLA compiler
(JAX) rewrites the division by the broadcast scalar ``1 - beta_1^t`` into a product
with its reciprocal, which changes last bits. :class:`PerMemberAdam` therefore
computes ``alpha`` on scalars, one per distinct rate, exactly as Keras does, and only
then gives each member its own (a gather). tests/test_learning_rates.py checks every
optimizer against the plain one at each rate, bit for bit, on both backends.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import ops

from initstudy.study.runs import Run

#: Config names Keras does not know: name -> (Keras optimizer, keys of ``training``
#: passed on as arguments of the same name).
ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {"momentum": ("sgd", ("momentum",))}


def make_optimizer(name: str, training: dict, learning_rate: float | None = None) -> keras.optimizers.Optimizer:
    """``keras.optimizers.get`` of ``name`` at ``learning_rate`` (default
    ``training["learning_rate"][name]``): one network's optimizer."""
    rates = training["learning_rate"]
    if name not in rates:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(sorted(rates))}")
    keras_name, from_training = ALIASES.get(name, (name, ()))
    rate = rates[name] if learning_rate is None else learning_rate
    arguments = {"learning_rate": rate, **{key: training[key] for key in from_training}}
    return keras.optimizers.get({"class_name": keras_name, "config": arguments})


class PerMember:
    """Mixin for a Keras optimizer: a learning rate per member of a pack.

    ``member_rates`` (M,) are the members' rates in pack order; Keras' own
    ``learning_rate`` (a scalar, the first rate) is not used by the updates."""

    member_rates: np.ndarray
    #: The distinct rates, and each member's index into them.
    distinct_rates: tuple[float, ...]
    member_group: np.ndarray

    def set_member_rates(self, rates: Sequence[float]) -> None:
        self.member_rates = np.asarray(rates, dtype="float32")
        self.distinct_rates = tuple(dict.fromkeys(self.member_rates.tolist()))
        self.member_group = np.array([self.distinct_rates.index(r) for r in self.member_rates.tolist()], "int32")

    @staticmethod
    def per_member(values, variable):
        """(M,) values shaped (M, 1, ..., 1) to broadcast against ``variable`` (M, ...)."""
        return ops.reshape(values, (-1,) + (1,) * (len(variable.shape) - 1))

    def update_step(self, gradient, variable, learning_rate):
        rates = ops.convert_to_tensor(self.member_rates, dtype=variable.dtype)
        return super().update_step(gradient, variable, self.per_member(rates, variable))


class PerMemberAdam(PerMember, keras.optimizers.Adam):
    """Adam with a learning rate per member: Keras' ``Adam.update_step`` (Keras 3,
    ``amsgrad=False``) with its step size ``alpha`` computed, as Keras computes it, on
    scalars (one per distinct rate) before each member takes its own."""

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            raise NotImplementedError("per-member learning rates: Adam with amsgrad")
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        local_step = ops.cast(self.iterations + 1, dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, dtype), local_step)
        beta_2_power = ops.power(ops.cast(self.beta_2, dtype), local_step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        alphas = ops.stack([ops.convert_to_tensor(rate, dtype) * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
                            for rate in self.distinct_rates])
        alpha = self.per_member(ops.take(alphas, ops.convert_to_tensor(self.member_group), axis=0), variable)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        self.assign_sub(variable, ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon)))


def per_member_class(optimizer_class: type) -> type:
    """The :class:`PerMember` subclass of a Keras optimizer class."""
    if issubclass(optimizer_class, keras.optimizers.Adam):
        if optimizer_class is not keras.optimizers.Adam:
            raise TypeError(f"per-member learning rates: {optimizer_class.__name__} is not Keras' Adam")
        return PerMemberAdam
    return type(f"PerMember{optimizer_class.__name__}", (PerMember, optimizer_class), {})


def member_optimizer(name: str, training: dict, rates: Sequence[float]) -> keras.optimizers.Optimizer:
    """The optimizer ``name`` (as :func:`make_optimizer` makes it) with one learning
    rate per member, ``rates`` in pack order."""
    plain = make_optimizer(name, training, float(rates[0]))
    optimizer = per_member_class(type(plain)).from_config(plain.get_config())
    optimizer.set_member_rates(rates)
    return optimizer


def pack_optimizer(runs: Sequence[Run], training: dict) -> keras.optimizers.Optimizer:
    """The optimizer of a pack of ``runs`` (one optimizer; each at its own learning
    rate, :meth:`Run.training_settings`): the plain Keras optimizer when they share
    one rate, else :func:`member_optimizer`."""
    name = runs[0].optimizer
    rates = [run.training_settings(training)["learning_rate"][name] for run in runs]
    if len(set(rates)) == 1:
        return make_optimizer(name, training, rates[0])
    return member_optimizer(name, training, rates)
