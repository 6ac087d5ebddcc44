# The initializers themselves: does each draw what it intends (audit), and does the
# mean-field theory of its variance per layer match what the MLPs measured at init
# (theory)? Both feed the paper's initializer section.


rule audit:
    input:
        config="results/config.resolved.yaml",
        code=[
            "src/initstudy/analysis/audit.py",
            "src/initstudy/inits/custom.py",
            "src/initstudy/inits/specs.py",
        ],
    output:
        csv="results/audit.csv",
        tex="paper/generated/tables/audit.tex",
    log:
        "logs/audit.log",
    conda:
        "../envs/initstudy.yaml"
    shell:
        "python -m initstudy audit --config {input.config:q} --csv {output.csv:q}"
        " --tex {output.tex:q} > {log:q} 2>&1"


rule theory:
    input:
        config="results/config.resolved.yaml",
        signal="results/signal.parquet",
        audit="results/audit.csv",
        code=[
            "src/initstudy/analysis/theory.py",
            "src/initstudy/analysis/audit.py",
            "src/initstudy/figures.py",
            "src/initstudy/report.py",
        ],
    output:
        figure="paper/generated/figures/theory_vs_measurement.pdf",
        csv="results/theory.csv",
        tex="paper/generated/tables/theory.tex",
        variables="paper/generated/variables_initializers.tex",
    log:
        "logs/theory.log",
    conda:
        "../envs/initstudy.yaml"
    shell:
        "python -m initstudy theory --config {input.config:q} --signal {input.signal:q}"
        " --audit {input.audit:q} --figure {output.figure:q} --csv {output.csv:q}"
        " --tex {output.tex:q} --variables {output.variables:q} > {log:q} 2>&1"


PAPER_GENERATED.extend([*rules.audit.output, *rules.theory.output])


# Light rules run where Snakemake runs, not as cluster jobs (no queueing, no TeX on nodes).
localrules:
    audit,
    theory,
