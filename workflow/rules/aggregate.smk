# Records -> tidy tables. A script (not a shell command) because a large grid's list
# of records would not fit on one command line.


rule aggregate:
    input:
        RECORDS,
    output:
        runs="results/runs.parquet",
        signal="results/signal.parquet",
        weights="results/weights.parquet",
        provenance="results/provenance.json",
    log:
        "logs/aggregate.log",
    conda:
        "../envs/initstudy.yaml"
    script:
        "../scripts/aggregate.py"


rule resolved_config:
    output:
        "results/config.resolved.yaml",
    log:
        "logs/resolved_config.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        config=config,
    script:
        "../scripts/resolved_config.py"


# Light rules run where Snakemake runs, not as cluster jobs (no queueing, no TeX on nodes).
localrules:
    aggregate,
    resolved_config,
