# Analysis tables -> figures. Each figure is drawn from the tables
# initstudy.figures.catalog names, by `python -m initstudy draw`; it computes nothing,
# so editing drawing code redraws the figures and rebuilds the PDF, never more.
from initstudy.figures.catalog import CLAIM_FIGURE_TABLES, FIGURE_TABLES

#: Where each table a figure may read lives.
FIGURE_INPUTS = {
    **{
        name: f"{study_paths.ANALYSIS_DIR}/{name}.csv"
        for name in study_paths.ANALYSIS_TABLES
    },
    **{
        name: f"{study_paths.ANALYSIS_DIR}/{name}.csv"
        for name in study_paths.THEORY_TABLES
    },
    **{
        name: f"{study_paths.STATS_DIR}/{name}.csv" for name in study_paths.STATS_TABLES
    },
    "weights": study_paths.TABLES["weights"],
}
#: Every claim's figure (the claims section of the paper shows them).
CLAIM_FIGURES = []
#: The Snakemake report's category of each figure.
FIGURE_CATEGORIES = {
    "learning_curves": "Training",
    "accuracy_vs_depth": "Training",
    "activation_std_at_init": "Signal propagation",
    "grad_norm_at_init": "Signal propagation",
    "signal_vs_accuracy": "Signal propagation",
    "heatmaps": "Comparison",
    "mean_ranks": "Comparison",
    "weight_histograms": "Weights",
    "theory_vs_measurement": "Initializers",
}


for figure_file, figure_tables in FIGURE_TABLES.items():
    figure = figure_file.removesuffix(".pdf")

    rule:
        name:
            f"figure_{figure}"
        input:
            **{table: FIGURE_INPUTS[table] for table in figure_tables},
            code=verb_code("draw"),
        output:
            report(
                f"{study_paths.FIGURES_DIR}/{figure_file}",
                caption=f"../report/{figure}.rst",
                category=FIGURE_CATEGORIES[figure],
            ),
        log:
            f"logs/figures/{figure}.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        params:
            tables=" ".join(
                f"--table {table}={FIGURE_INPUTS[table]}" for table in figure_tables
            ),
        shell:
            "python -m initstudy draw {output:q} {params.tables} > {log:q} 2>&1"

    PAPER_GENERATED.extend(getattr(rules, f"figure_{figure}").output)


# Each claim's figure, drawn from the tables `initstudy claim` wrote beside its verdict
# by its statistic's drawing function (`draw --claim STATISTIC`).
for claim_name, claim_config in CLAIMS.items():
    claim_statistic = claim_config["claim"]["statistic"]
    if claim_statistic not in CLAIM_FIGURE_TABLES:
        continue

    rule:
        name:
            f"figure_claim_{claim_name}"
        input:
            **{
                table: f"{study_paths.claim_dir(claim_name)}/{table}.csv"
                for table in CLAIM_FIGURE_TABLES[claim_statistic]
            },
            code=verb_code("draw"),
        output:
            report(
                study_paths.claim_figure(claim_name),
                caption="../report/claim_figure.rst",
                category="Claims",
            ),
        log:
            f"logs/figures/claim_{claim_name}.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        params:
            statistic=claim_statistic,
            tables=" ".join(
                f"--table {table}={study_paths.claim_dir(claim_name)}/{table}.csv"
                for table in CLAIM_FIGURE_TABLES[claim_statistic]
            ),
        shell:
            "python -m initstudy draw {output:q} --claim {params.statistic} {params.tables}"
            " > {log:q} 2>&1"

    CLAIM_FIGURES.append(study_paths.claim_figure(claim_name))
