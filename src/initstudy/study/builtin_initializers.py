"""Keras' built-in initializers as a table, so that parsing the workflow can check
names and arguments without importing Keras (seconds per Snakemake call).

One :class:`~initstudy.study.arguments.Signature` per snake_case name that
``keras.initializers`` exports, read from ``keras/src/initializers/*.py`` (Keras
3): the constructor's arguments less :data:`RESERVED`, Keras' defaults, and the
values the study accepts. Where Keras refuses a value (``VarianceScaling``: scale
<= 0, an unknown mode or distribution) the table refuses it too; where Keras
would draw something that is no initialization (a negative or zero standard
deviation, gain or scale; an empty or reversed uniform interval; NaN or infinity)
the table refuses it although Keras does not. ``tests/test_initializer_specs.py``
holds the table against the installed Keras: the same names and arguments, the
same defaults, and every accepted value builds and draws finite numbers.
:mod:`initstudy.inits.resolve` builds the initializers through Keras' classes.
"""

from __future__ import annotations

from initstudy.study.arguments import Choice, Real, Signature

#: What ``keras.initializers`` exports that draws no network's weights: STFT fills a
#: spectrogram layer's kernel with a fixed Fourier basis.
NOT_WEIGHT_SCHEMES = ("stft",)

#: Constructor arguments that belong to the run, not to the spec: the seed is derived
#: from each run's fields, and the fans follow the kernel's Keras layout.
RESERVED = ("seed", "input_axes", "output_axes")

_NO_ARGUMENTS = Signature(defaults={})
_NORMAL = Signature(defaults={"mean": 0.0, "stddev": 0.05}, kinds={"mean": Real(), "stddev": Real(above=0)})
#: A matrix scaled by ``gain``: zero or a sign flip is not the scheme asked for.
_GAINED = Signature(defaults={"gain": 1.0}, kinds={"gain": Real(above=0)})

#: snake_case name -> what it takes. The named variance-scaling schemes (He, Glorot,
#: LeCun) fix their scale, mode and distribution: they take no arguments of their own.
BUILTINS: dict[str, Signature] = {
    "constant": Signature(defaults={"value": 0.0}, kinds={"value": Real()}),
    "glorot_normal": _NO_ARGUMENTS,
    "glorot_uniform": _NO_ARGUMENTS,
    "he_normal": _NO_ARGUMENTS,
    "he_uniform": _NO_ARGUMENTS,
    "identity": _GAINED,
    "lecun_normal": _NO_ARGUMENTS,
    "lecun_uniform": _NO_ARGUMENTS,
    "ones": _NO_ARGUMENTS,
    "orthogonal": _GAINED,
    "random_normal": _NORMAL,
    "random_uniform": Signature(defaults={"minval": -0.05, "maxval": 0.05},
                                kinds={"minval": Real(), "maxval": Real()},
                                increasing=(("minval", "maxval"),)),
    "truncated_normal": _NORMAL,
    # "normal" is Keras' alias of "truncated_normal"; Keras also lower-cases the
    # distribution, which the table does not (labels and identities stay one spelling).
    "variance_scaling": Signature(
        defaults={"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
        kinds={"scale": Real(above=0), "mode": Choice(("fan_in", "fan_out", "fan_avg")),
               "distribution": Choice(("truncated_normal", "untruncated_normal", "uniform", "normal"))}),
    "zeros": _NO_ARGUMENTS,
}
