"""The figure of the Pennington et al. (2017) claim, from the tables its family wrote:
left, the spread of the Jacobian spectrum at init (std of ln s, mean and BCa interval
over seeds) against depth per combination of activation and initializer, the tested
ones in colour and the grid's other combinations in grey; right, the distribution of
ln s at the deepest depth for the tested combinations (the numerically non-zero values,
those the spread counts)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from initstudy.figures import style
from initstudy.figures.style import STYLE

#: How each role is drawn: (alpha, linewidth); the grid's untested combinations in grey.
ROLES = {"isometric": (1.0, 1.4), "spreading": (1.0, 1.0), "other": (0.6, 0.7)}
OTHER = {"color": "0.7", "marker": "", "dashes": None}


def draw_pennington2017(spread: pd.DataFrame, spectra: pd.DataFrame) -> Figure:
    tested = sorted(spread.loc[spread["role"] != "other", "combination"].unique())
    styles = style.initializer_styles(spread["combination"])
    styles |= {c: OTHER for c in set(spread["combination"]) - set(tested)}
    handles = style.initializer_handles({c: styles[c] for c in tested})
    if len(styles) > len(tested):
        handles += style.initializer_handles({"other combinations of the grid": OTHER})
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
        left.set_xscale("log", base=2)
        depths = sorted(spread["depth"].unique())
        left.set_xticks(depths, [str(d) for d in depths])
        left.set_xlabel("Depth")
        left.set_ylabel(r"spread: std of $\ln s$ at init")
        deepest = int(spectra["depth"].max())
        for combination in tested:
            values = spectra.loc[(spectra["combination"] == combination) & spectra["resolved"].astype(bool),
                                 "singular_value"].to_numpy(float)
            s = styles[combination]
            right.hist(np.log(values), bins=40, density=True, histtype="step", color=s["color"],
                       linestyle=style.linestyle(s), linewidth=1.0)
        right.set_xlabel(rf"$\ln s$ at depth {deepest}")
        right.set_ylabel("density")
        style.figure_legend(fig, handles, ncols=2, title="Activation / initializer")
    return fig
