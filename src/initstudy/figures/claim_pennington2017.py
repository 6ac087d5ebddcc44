"""The figure of the Pennington et al. (2017) claim, from the tables its family wrote:
left, the spread of the Jacobian spectrum at init (V = var(s^2) / mean(s^2)^2, mean and BCa
interval over seeds) against depth per combination of activation and initializer, the
combinations with a free-probability prediction in colour with the prediction dashed, the
grid's others in grey; right, the distribution of s^2 / mean(s^2) (log scale) at the
deepest depth for the predicted combinations (the non-zero values)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from initstudy.figures import style
from initstudy.figures.style import STYLE

#: How each role is drawn: (alpha, linewidth); the grid's other combinations in grey.
ROLES = {"predicted": (1.0, 1.2), "other": (0.6, 0.7)}
OTHER = {"color": "0.7", "marker": "", "dashes": None}


def draw_pennington2017(spread: pd.DataFrame, spectra: pd.DataFrame) -> Figure:
    tested = sorted(spread.loc[spread["role"] != "other", "combination"].unique())
    styles = style.initializer_styles(spread["combination"])
    styles |= {c: OTHER for c in set(spread["combination"]) - set(tested)}
    handles = style.initializer_handles({c: styles[c] for c in tested})
    if len(styles) > len(tested):
        handles += style.initializer_handles({"other combinations of the grid": OTHER})
    handles.append(Line2D([], [], color="0.2", linestyle=(0, (1.5, 1.5)), linewidth=0.9,
                          label="free probability"))
    with matplotlib.rc_context(STYLE):
        fig = style.figure(1, 2.6, style.legend_rows(len(handles), 2))
        left, right = fig.subplots(1, 2)
        for combination, rows in spread.sort_values("depth").groupby("combination"):
            s = styles[combination]
            alpha, width = ROLES[rows["role"].iloc[0]]
            left.fill_between(rows["depth"], rows["ci_low"], rows["ci_high"], color=s["color"], alpha=0.2 * alpha,
                              linewidth=0)
            left.plot(rows["depth"], rows["mean"], color=s["color"], marker=s["marker"] or None, markersize=3,
                      linestyle=style.linestyle(s), linewidth=width, alpha=alpha)
            if rows["predicted"].notna().any():
                left.plot(rows["depth"], rows["predicted"], color=s["color"], linestyle=(0, (1.5, 1.5)),
                          linewidth=0.9)
        depths = sorted(spread["depth"].unique())
        left.set_xticks(depths, [str(d) for d in depths])
        left.set_xlabel("Depth")
        left.set_ylabel(r"spread $V = \mathrm{var}(s^2) / \overline{s^2}^{\,2}$ at init")
        deepest = int(spectra["depth"].max()) if len(spectra) else max(depths)
        for combination in tested:
            values = spectra.loc[spectra["combination"] == combination, "s2_relative"].to_numpy(float)
            if len(values) == 0:
                continue
            s = styles[combination]
            right.hist(np.log10(values), bins=50, density=True, histtype="step", color=s["color"],
                       linestyle=style.linestyle(s), linewidth=1.0)
        right.set_xlabel(rf"$\log_{{10}}(s^2 / \overline{{s^2}})$ at depth {deepest}")
        right.set_ylabel("density")
        style.figure_legend(fig, handles, ncols=2, title="Activation / initializer")
    return fig
