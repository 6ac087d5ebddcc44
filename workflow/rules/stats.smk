# Tables -> statistics: Friedman per cell, Holm-corrected pairwise Wilcoxon with
# rank-biserial effect sizes, bootstrap CIs of the mean, Wilson CIs of divergence,
# mean ranks. Diverged runs enter as config["stats"]["diverged_policy"] says.


rule stats:
    input:
        runs="results/runs.parquet",
        code="src/initstudy/analysis/stats.py",
    output:
        friedman=report(
            "results/stats/friedman.csv",
            caption="../report/friedman.rst",
            category="Statistical tests",
        ),
        pairwise=report(
            "results/stats/pairwise.csv",
            caption="../report/pairwise.rst",
            category="Statistical tests",
        ),
        bootstrap=report(
            "results/stats/bootstrap.csv",
            caption="../report/bootstrap.rst",
            category="Statistical tests",
        ),
        ranks=report(
            "results/stats/ranks.csv",
            caption="../report/ranks.rst",
            category="Statistical tests",
        ),
        divergence=report(
            "results/stats/divergence.csv",
            caption="../report/divergence.rst",
            category="Statistical tests",
        ),
    log:
        "logs/stats.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.friedman),
        policy=config["stats"]["diverged_policy"],
        alpha=config["stats"]["alpha"],
    shell:
        "python -m initstudy stats --runs {input.runs:q} --out-dir {params.out_dir:q}"
        " --diverged-policy {params.policy} --alpha {params.alpha} > {log:q} 2>&1"


# Light rules run where Snakemake runs, not as cluster jobs (no queueing, no TeX on nodes).
localrules:
    stats,
