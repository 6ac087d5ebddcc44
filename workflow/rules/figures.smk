# Figures and generated LaTeX are functions of the tidy tables only: editing the
# drawing code (an input here) redraws them and rebuilds the PDF, never retrains.

FIGURES = ["learning_curves.pdf", "accuracy_vs_depth.pdf"]


rule figures:
    input:
        runs="results/runs.parquet",
        code="src/initstudy/figures.py",
    output:
        expand("paper/generated/figures/{name}", name=FIGURES),
    log:
        "logs/figures.log",
    conda:
        "../envs/initstudy.yaml"
    shell:
        "python -m initstudy figures --runs {input.runs:q} --out-dir paper/generated/figures > {log:q} 2>&1"


rule report:
    input:
        runs="results/runs.parquet",
        provenance="results/provenance.json",
        config="results/config.resolved.yaml",
        code=["src/initstudy/report.py", "src/initstudy/figures.py"],
    output:
        "paper/generated/variables.tex",
        "paper/generated/tables/grid.tex",
        "paper/generated/tables/software.tex",
        "paper/generated/tables/results.tex",
    log:
        "logs/report.log",
    conda:
        "../envs/initstudy.yaml"
    shell:
        "python -m initstudy report --runs {input.runs:q} --config {input.config:q}"
        " --provenance {input.provenance:q} --out-dir paper/generated > {log:q} 2>&1"


PAPER_GENERATED.extend([*rules.figures.output, *rules.report.output])
