"""Glorot & Bengio (2010), *Understanding the difficulty of training deep feedforward
neural networks*: with 5 hidden layers,

- §4.2.2, Figure 7: under the "standard" initialization W ~ U[-1/√n, 1/√n] (Var W =
  1 / (3 n)) the back-propagated gradient ∂L/∂z_l shrinks from the top hidden layer
  toward the input (each layer multiplies its variance by ≈ n Var W = 1/3), while the
  "normalized" initialization (glorot_uniform, Var W = 2 / (n_in + n_out)) keeps it
  about constant; Figure 8: the gradients of the *weights* do not shrink even under
  the standard initialization (the activations grow toward the input by as much as
  the back-propagated gradient shrinks);
- §3.1, Figure 2: with sigmoid units and the standard initialization, the top hidden
  layer is quickly pushed into saturation at 0.

What the tables hold is ‖∂L/∂W_l‖ (``grad_norm``) and the activations' moments per
hidden layer. With ∂L/∂W_l = a_(l-1)ᵀ δ_l (δ_l = ∂L/∂z_l over the probe batch) and
layers of equal width, ‖∂L/∂W_l‖² ∝ E[a_(l-1)²] · E[δ_l²], so the RMS back-propagated
gradient is estimated, up to a factor common to the layers, by

    g_l = ‖∂L/∂W_l‖ / √E[a_(l-1)²]      (l ≥ 2: layer 1's input moment is not recorded).

Parts (per cell at init; the ratio's value per seed is the mean over optimizers):

``backprop_shrinks``      log2(g_2 / g_L) under ``standard`` with ``gradient_activation``;
``backprop_flat``         the same under ``normalized``;
``weight_gradient_flat``  log2(‖∂L/∂W_2‖ / ‖∂L/∂W_L‖) under ``standard``;
``top_saturation``        under ``standard`` with ``saturation_activation``: the lowest
                          mean activation of the top hidden layer over epochs
                          1..``early_epochs`` (0.5 at init for a sigmoid).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from initstudy.analysis.claims import common
from initstudy.analysis.claims.registry import ClaimError, figure_tables, register

PARAMS = {
    "standard": "standard",
    "normalized": "glorot_uniform",
    "gradient_activation": "tanh",
    "saturation_activation": "sigmoid",
    "bottom_layer": 2,
    "early_epochs": 5,
}
BACKPROP = "log2 RMS backprop gradient, layer 2 / top layer, at init"


def gradient_profiles(signal: pd.DataFrame) -> pd.DataFrame:
    """Per run and hidden layer l ≥ 2 at init: ``backprop`` g_l (the module's estimate)
    and ``weight`` ‖∂L/∂W_l‖."""
    init = signal[signal["epoch"] == 0].assign(q=common.second_moment).sort_values(["run_id", "layer"])
    below = init.groupby("run_id")["q"].shift(1)  # E[a²] of the layer below
    init = init.assign(backprop=init["grad_norm"] / np.sqrt(below), weight=init["grad_norm"])
    return init[init["layer"] >= 2]


def ratios(profiles: pd.DataFrame, bottom: int) -> pd.DataFrame:
    """Per run: log2 of g and of ‖∂L/∂W‖ at layer ``bottom`` over the top hidden layer."""
    top = profiles.groupby("run_id")["layer"].transform("max")
    low = profiles[profiles["layer"] == bottom].set_index("run_id")
    high = profiles[profiles["layer"] == top].set_index("run_id")
    if low.empty:
        raise ClaimError(f"claim.params.bottom_layer: no hidden layer {bottom} at init in the study")
    with np.errstate(divide="ignore", invalid="ignore"):
        return low.assign(backprop_ratio=np.log2(low["backprop"] / high.loc[low.index, "backprop"]),
                          weight_ratio=np.log2(low["weight"] / high.loc[low.index, "weight"])).reset_index()


def top_layer(signal: pd.DataFrame) -> pd.DataFrame:
    """The top hidden layer's rows of every run and epoch."""
    return signal[signal["layer"] == signal.groupby("run_id")["layer"].transform("max")]


@register("glorot2010", parts={
    "backprop_shrinks": BACKPROP,
    "backprop_flat": BACKPROP,
    "weight_gradient_flat": "log2 weight-gradient norm, layer 2 / top layer, at init",
    "top_saturation": "lowest mean top-layer activation, early epochs",
}, params=PARAMS)
def glorot2010(tables, params) -> pd.DataFrame:
    signal = tables.signal
    for key in ("standard", "normalized"):
        if params[key] not in set(signal["initializer"]):
            raise ClaimError(f"claim.params.{key}: initializer {params[key]!r} not in the study; it has "
                             f"{sorted(signal['initializer'].unique())}")
    at_init = [c for c in common.cells(signal) if c != "optimizer"]
    gradient = ratios(gradient_profiles(signal[signal["activation"] == params["gradient_activation"]]),
                      int(params["bottom_layer"]))
    standard = gradient[gradient["initializer"] == params["standard"]]
    normalized = gradient[gradient["initializer"] == params["normalized"]]
    parts = [
        common.per_seed(standard, [*at_init, "initializer"], "backprop_ratio", "backprop_shrinks"),
        common.per_seed(normalized, [*at_init, "initializer"], "backprop_ratio", "backprop_flat"),
        common.per_seed(standard, [*at_init, "initializer"], "weight_ratio", "weight_gradient_flat"),
    ]
    top = top_layer(signal)
    early = top[(top["epoch"] >= 1) & (top["epoch"] <= int(params["early_epochs"]))
                & (top["activation"] == params["saturation_activation"])
                & (top["initializer"] == params["standard"])]
    lowest = early.groupby(["run_id", *common.cells(early), "initializer", "seed"], sort=True)[
        "activation_mean"].min().reset_index()
    if len(lowest):
        parts.append(common.per_seed(lowest, [*common.cells(lowest), "initializer"], "activation_mean",
                                     "top_saturation"))
    return pd.concat(parts, ignore_index=True)


@figure_tables("glorot2010")
def glorot2010_tables(tables, params, rules) -> dict[str, pd.DataFrame]:
    """``gradients``: per initializer and hidden layer l ≥ 2 at init, in the
    ``gradient_activation`` networks, g_l and ‖∂L/∂W_l‖ relative to the top layer's
    (``quantity`` backprop or weight), mean and CI over seeds; ``saturation``: in the
    ``saturation_activation`` networks, the mean activation of every hidden layer per
    epoch, mean and CI over seeds, per initializer (``top`` marks the top layer)."""
    signal = tables.signal
    profiles = gradient_profiles(signal[signal["activation"] == params["gradient_activation"]])
    top = profiles.groupby("run_id")["layer"].transform("max")
    at_init = [c for c in common.cells(profiles) if c != "optimizer"]
    frames = []
    for quantity in ("backprop", "weight"):
        reference = profiles[profiles["layer"] == top].set_index("run_id")[quantity]
        relative = profiles.assign(relative=profiles[quantity] / profiles["run_id"].map(reference).to_numpy())
        seeds = relative.groupby([*at_init, "initializer", "layer", "seed"], sort=True)["relative"].mean()
        frames.append(common.intervals(seeds.reset_index(), [*at_init, "initializer", "layer"], "relative")
                      .assign(quantity=quantity))
    gradients = pd.concat(frames, ignore_index=True)
    signal = signal[signal["activation"] == params["saturation_activation"]]
    cells = common.cells(signal)
    per_seed = signal.groupby([*cells, "initializer", "layer", "epoch", "seed"], sort=True)[
        "activation_mean"].mean().reset_index()
    saturation = common.intervals(per_seed, [*cells, "initializer", "layer", "epoch"], "activation_mean")
    saturation["top"] = saturation["layer"] == saturation.groupby(cells)["layer"].transform("max")
    return {"gradients": gradients, "saturation": saturation}
