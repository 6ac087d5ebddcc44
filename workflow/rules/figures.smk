# Figures and generated LaTeX are functions of the tidy tables only: editing the
# drawing code (an input here) redraws them and rebuilds the PDF, never retrains.
# Each figure rule runs ../scripts/figures.py, which draws every output by its file
# name (initstudy.figures.FIGURES) from the tables named in the rule's input.


rule figures:
    input:
        runs="results/runs.parquet",
        code="src/initstudy/figures.py",
    output:
        report(
            "paper/generated/figures/learning_curves.pdf",
            caption="../report/learning_curves.rst",
            category="Training",
        ),
        report(
            "paper/generated/figures/accuracy_vs_depth.pdf",
            caption="../report/accuracy_vs_depth.rst",
            category="Training",
        ),
    log:
        "logs/figures.log",
    conda:
        "../envs/initstudy.yaml"
    script:
        "../scripts/figures.py"


rule signal_figures:
    input:
        signal="results/signal.parquet",
        runs="results/runs.parquet",
        code=["src/initstudy/figures.py", "src/initstudy/analysis/stats.py"],
    output:
        report(
            "paper/generated/figures/activation_std_at_init.pdf",
            caption="../report/activation_std_at_init.rst",
            category="Signal propagation",
        ),
        report(
            "paper/generated/figures/grad_norm_at_init.pdf",
            caption="../report/grad_norm_at_init.rst",
            category="Signal propagation",
        ),
        report(
            "paper/generated/figures/signal_vs_accuracy.pdf",
            caption="../report/signal_vs_accuracy.rst",
            category="Signal propagation",
        ),
    log:
        "logs/signal_figures.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        diverged_policy=config["stats"]["diverged_policy"],
    script:
        "../scripts/figures.py"


rule stats_figures:
    input:
        bootstrap=rules.stats.output.bootstrap,
        divergence=rules.stats.output.divergence,
        ranks=rules.stats.output.ranks,
        pairwise=rules.stats.output.pairwise,
        code="src/initstudy/figures.py",
    output:
        report(
            "paper/generated/figures/heatmaps.pdf",
            caption="../report/heatmaps.rst",
            category="Comparison",
        ),
        report(
            "paper/generated/figures/mean_ranks.pdf",
            caption="../report/mean_ranks.rst",
            category="Comparison",
        ),
    log:
        "logs/stats_figures.log",
    conda:
        "../envs/initstudy.yaml"
    script:
        "../scripts/figures.py"


rule weight_figures:
    input:
        weights="results/weights.parquet",
        runs="results/runs.parquet",
        code="src/initstudy/figures.py",
    output:
        report(
            "paper/generated/figures/weight_histograms.pdf",
            caption="../report/weight_histograms.rst",
            category="Weights",
        ),
    log:
        "logs/weight_figures.log",
    conda:
        "../envs/initstudy.yaml"
    script:
        "../scripts/figures.py"


rule paper_text:
    input:
        runs="results/runs.parquet",
        signal="results/signal.parquet",
        weights="results/weights.parquet",
        provenance="results/provenance.json",
        config="results/config.resolved.yaml",
        stats=rules.stats.output,
        code=[
            "src/initstudy/report.py",
            "src/initstudy/figures.py",
            "src/initstudy/analysis/stats.py",
        ],
    output:
        "paper/generated/variables.tex",
        "paper/generated/tables/grid.tex",
        "paper/generated/tables/software.tex",
        "paper/generated/tables/results.tex",
        "paper/generated/tables/depth.tex",
        "paper/generated/tables/guideline.tex",
        "paper/generated/tables/signal.tex",
    log:
        "logs/paper_text.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    script:
        "../scripts/report.py"


PAPER_GENERATED.extend(
    [
        *rules.figures.output,
        *rules.signal_figures.output,
        *rules.stats_figures.output,
        *rules.weight_figures.output,
        *rules.paper_text.output,
    ]
)


# Light rules run where Snakemake runs, not as cluster jobs (no queueing, no TeX on nodes).
localrules:
    figures,
    signal_figures,
    stats_figures,
    weight_figures,
    paper_text,
