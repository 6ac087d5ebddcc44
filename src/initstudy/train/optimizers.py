"""The config's optimizers, built by Keras.

Every config name is a Keras optimizer name except ``momentum``, which is SGD with
the config's ``training.momentum``. All four update each parameter element by
element, which is what lets one optimizer train the members of a pack as if each
were alone (see :mod:`initstudy.models.packed`).
"""

from __future__ import annotations

import keras

#: Config names Keras does not know: name -> (Keras optimizer, keys of ``training``
#: passed on as arguments of the same name).
ALIASES: dict[str, tuple[str, tuple[str, ...]]] = {"momentum": ("sgd", ("momentum",))}


def make_optimizer(name: str, training: dict) -> keras.optimizers.Optimizer:
    """``keras.optimizers.get`` of ``name`` with ``training["learning_rate"][name]``."""
    rates = training["learning_rate"]
    if name not in rates:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(sorted(rates))}")
    keras_name, from_training = ALIASES.get(name, (name, ()))
    arguments = {"learning_rate": rates[name], **{key: training[key] for key in from_training}}
    return keras.optimizers.get({"class_name": keras_name, "config": arguments})
