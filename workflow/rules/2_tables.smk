# Records -> tidy tables. The command line names the resolved config, not the
# records (a large grid's list would not fit on it): `initstudy tables` reads the
# records of that config's runs. Its inputs are the train jobs' `.done` lists (see
# initstudy.train.pending.table_inputs), which stand for the records. ancient(): the
# resolved config is rewritten whenever any config value changes (stats, paper
# options too); the tables depend only on the records (and their inputs already follow
# the grid), so a rewritten config alone does not rebuild them and all below them.


rule aggregate:
    input:
        records=pending_runs.table_inputs(PENDING, WORK),
        config=ancient(study_paths.RESOLVED_CONFIG),
        code=verb_code("tables"),
    output:
        runs=study_paths.TABLES["runs"],
        history=study_paths.TABLES["history"],
        signal=study_paths.TABLES["signal"],
        weights=study_paths.TABLES["weights"],
        provenance=study_paths.PROVENANCE,
    log:
        "logs/aggregate.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        # A grid that shrank still has finished .done lists; its records changed.
        records=PENDING.digest,
    shell:
        "python -m initstudy tables --config {input.config:q}"
        " --runs-out {output.runs:q} --history-out {output.history:q}"
        " --signal-out {output.signal:q} --weights-out {output.weights:q}"
        " --provenance-out {output.provenance:q} > {log:q} 2>&1"


# The config as run: the workflow's config (config files and the command line's
# --config overrides, checked, defaults filled in) written as YAML. The rule hands
# the verb that config itself as JSON: the config files alone would miss the
# command-line overrides. It is small (the grid's lists, not the runs), far below the
# limit of one argument; a change of any value is a params change: the file is rewritten.


rule resolved_config:
    input:
        code=verb_code("resolve-config"),
    output:
        study_paths.RESOLVED_CONFIG,
    log:
        "logs/resolved_config.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        config=json.dumps(config),
    shell:
        "python -m initstudy resolve-config --json {params.config:q} --out {output:q}"
        " > {log:q} 2>&1"


# Light rules run where Snakemake runs, not as cluster jobs (no queueing, no TeX on nodes).
localrules:
    aggregate,
    resolved_config,
