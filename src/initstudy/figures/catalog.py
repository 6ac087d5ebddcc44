"""Which tables each figure draws, by the names the workflow gives them.

Kept apart from the drawing code (and free of plotting imports) so the workflow can
wire each figure rule's inputs when it is parsed: the analysis tables
(``results/analysis/<name>.csv``), the statistics tables (``results/stats/<name>.csv``:
``bootstrap``, ``divergence``) and the tidy ``weights`` table.
"""

from __future__ import annotations

#: Figure file name (in the figures directory) -> the tables it draws, in the order
#: its drawing function takes them (:data:`initstudy.figures.registry.FIGURES`).
FIGURE_TABLES: dict[str, tuple[str, ...]] = {
    "learning_curves.pdf": ("curves",),
    "accuracy_vs_depth.pdf": ("bootstrap",),
    "activation_std_at_init.pdf": ("signal_profile",),
    "grad_norm_at_init.pdf": ("signal_profile",),
    "signal_vs_accuracy.pdf": ("trainability", "spearman"),
    "heatmaps.pdf": ("bootstrap", "divergence"),
    "mean_ranks.pdf": ("rank_summary",),
    "weight_histograms.pdf": ("weights", "weight_runs"),
    "theory_vs_measurement.pdf": ("theory_predicted", "theory_measured", "theory"),
}
#: Claim statistic (``claim.statistic`` of a claim config) -> the tables its figure
#: draws, in the order its drawing function takes them. The figure of claim ``<name>``
#: is ``claim_<name>.pdf``, drawn by ``initstudy draw --claim <statistic>`` from
#: ``results/claims/<name>/<table>.csv`` (written by ``initstudy claim``; the names are
#: those its family declares, :func:`initstudy.analysis.claims.registry.figure_tables`).
CLAIM_FIGURE_TABLES: dict[str, tuple[str, ...]] = {
    "he2015": ("accuracy", "variance"),
    "glorot2010": ("gradients", "saturation"),
    "symmetry": ("runs",),
    "pennington2017": ("spread", "spectra"),
    "schoenholz2017": ("trainability", "theory"),
    "saxe2013": ("times", "lines", "slopes"),
}
