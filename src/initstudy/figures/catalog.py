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
#: Claim figure file (``claim_<claim name>.pdf``) -> the tables it draws, each named
#: ``<claim name>/<table>``: ``results/claims/<claim name>/<table>.csv``, written by
#: ``initstudy claim``. Drawn by ``initstudy draw`` like the study's figures.
CLAIM_FIGURE_TABLES: dict[str, tuple[str, ...]] = {
    "claim_he2015.pdf": ("he2015/accuracy", "he2015/variance"),
    "claim_he2015_cnn.pdf": ("he2015_cnn/accuracy", "he2015_cnn/variance"),
    "claim_glorot2010.pdf": ("glorot2010/gradients", "glorot2010/saturation"),
    "claim_symmetry.pdf": ("symmetry/runs",),
}
