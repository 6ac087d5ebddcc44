# Records -> tidy tables. The command line names a list of the study's records, not
# the records (a large grid's list would not fit on it): `initstudy tables` reads them.
# The list is written when the workflow is parsed, and only when the study's records
# change (a grid that grew or shrank, or changed identity), so it is what the tables
# rerun on; the inputs `records` are the train jobs' `.done` lists, which stand for
# the records (initstudy.train.pending.table_inputs). The tables do not read the
# config: a config change that leaves the records alone rebuilds nothing here.

TABLES_SHELL = (
    "python -m initstudy tables --records {input.record_list:q} "
    + " ".join(f"--{table}-out {{output.{table}:q}}" for table in study_paths.TABLES)
    + " --provenance-out {output.provenance:q} > {log:q} 2>&1"
)


# The two-stage protocol: stage 1 (every rate, the selection seeds) trains as any study
# does; this checkpoint chooses each cell and initializer's rate from its records
# (validation accuracy only), and only then are stage 2's runs (the chosen rates, the
# grid's seeds) known: the tables ask for them after it (table_inputs_of). One
# checkpoint chooses for every two-stage study (the main one and its claims, each from
# its own selection runs), so that every stage-1 pack is planned, and can run, at once.
if TWO_STAGE:

    checkpoint select_rates:
        input:
            records=list(
                dict.fromkeys(
                    record
                    for key in TWO_STAGE
                    for record in pending_runs.table_inputs(STUDY_STATES[key], WORK)
                )
            ),
            record_lists=[
                str(
                    pending_runs.write_record_list(
                        STUDY_STATES[key], selection_list(key)
                    )
                )
                for key in TWO_STAGE
            ],
            code=verb_code("select-rates"),
        output:
            [selection_table(key) for key in TWO_STAGE],
        log:
            "logs/select_rates.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        params:
            commands=" && ".join(
                f"python -m initstudy select-rates --records {pending_runs.record_list_path(selection_list(key))}"
                f" --diverged-policy {STUDY_CONFIGS[key]['stats']['diverged_policy']}"
                f" --out {selection_table(key)}"
                for key in TWO_STAGE
            ),
        shell:
            "({params.commands}) > {log:q} 2>&1"


# The list's path is known before a checkpoint is (a dry run prints the command).
TABLES_FROM_LIST = TABLES_SHELL.replace(
    "{input.record_list:q}", "{params.record_list:q}"
)


rule aggregate:
    input:
        unpack(table_inputs_of("study")),
        code=verb_code("tables"),
    output:
        **study_paths.TABLES,
        provenance=study_paths.PROVENANCE,
    log:
        "logs/aggregate.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        record_list=str(pending_runs.record_list_path("study")),
    shell:
        TABLES_FROM_LIST


# Each claim's tables, as the study's, from its own records (a record the study and a
# claim share is read by both).
for claim_name in CLAIMS:

    rule:
        name:
            f"claim_tables_{claim_name}"
        input:
            unpack(table_inputs_of(claim_name)),
            code=verb_code("tables"),
        output:
            **study_paths.claim_tables(claim_name),
            provenance=f"{study_paths.claim_dir(claim_name)}/provenance.json",
        log:
            f"logs/claims/{claim_name}/tables.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        params:
            record_list=str(pending_runs.record_list_path(claim_name)),
        shell:
            TABLES_FROM_LIST


# Each control study's tables, as a claim's.
for control_name in CONTROLS:
    control_state = STUDY_STATES[f"control-{control_name}"]

    rule:
        name:
            f"control_tables_{control_name}"
        input:
            records=pending_runs.table_inputs(control_state, WORK),
            record_list=str(
                pending_runs.write_record_list(
                    control_state, f"control-{control_name}"
                )
            ),
            code=verb_code("tables"),
        output:
            **study_paths.control_tables(control_name),
            provenance=study_paths.control_provenance(control_name),
        log:
            f"logs/controls/{control_name}/tables.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        shell:
            TABLES_SHELL


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
