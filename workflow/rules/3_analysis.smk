# Tables -> analysis: every number the figures and the paper show, computed once and
# written as a table. `stats` tests the differences (Friedman per cell, Holm-corrected
# pairwise Wilcoxon with rank-biserial effect sizes, BCa bootstrap CIs of the mean,
# Wilson CIs of divergence, mean ranks; diverged runs enter as
# config["stats"]["diverged_policy"] says); `analyze` derives the rest from the tidy
# and stats tables; `audit` checks what each initializer draws; `theory` sets the
# mean-field prediction beside the variance measured at init. Every output is an entry
# of initstudy.study.catalog.


# Each initializer's learning rate (config["tuning"]): per cell and initializer the rate
# with the highest mean final validation accuracy over the selection seeds, never the
# test set; the comparisons below take each initializer at its rate, over the evaluation
# seeds (compared_runs). A grid with one rate per optimizer has nothing to choose.
rule tune:
    input:
        runs=study_paths.TABLES["runs"],
        config=study_paths.RESOLVED_CONFIG,
        code=verb_code("tune"),
    output:
        tuning=report(
            study_paths.TUNING["tuning"],
            caption=report_caption(study_catalog.of_kind("tuning")[0]),
            category=study_catalog.of_kind("tuning")[0].category,
        ),
        compared_runs=study_paths.TUNING["compared_runs"],
    log:
        "logs/tune.log",
    conda:
        "../envs/initstudy.yaml"
    shell:
        "python -m initstudy tune --runs {input.runs:q} --config {input.config:q}"
        " --tuning-out {output.tuning:q} --compared-out {output.compared_runs:q} > {log:q} 2>&1"


rule stats:
    input:
        runs=study_paths.TUNING["compared_runs"],
        code=verb_code("stats"),
    output:
        **{
            table.name: report(
                table.path, caption=report_caption(table), category=table.category
            )
            for table in study_catalog.of_kind("stats")
        },
    log:
        "logs/stats.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        policy=config["stats"]["diverged_policy"],
        alpha=config["stats"]["alpha"],
    shell:
        "python -m initstudy stats --runs {input.runs:q} --out-dir {params.out_dir:q}"
        " --diverged-policy {params.policy} --alpha {params.alpha} > {log:q} 2>&1"


rule analyze:
    input:
        **{t: study_paths.TABLES[t] for t in study_paths.ANALYZED_TABLES},
        compared=study_paths.TUNING["compared_runs"],
        stats=rules.stats.output,
        config=study_paths.RESOLVED_CONFIG,
        code=verb_code("analyze"),
    output:
        **study_catalog.paths("analysis"),
    log:
        "logs/analyze.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        stats_dir=lambda wildcards, input: os.path.dirname(input.stats[0]),
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m initstudy analyze --runs {input.runs:q} --history {input.history:q}"
        " --signal {input.signal:q} --weights {input.weights:q} --compared {input.compared:q}"
        " --stats-dir {params.stats_dir:q}"
        " --config {input.config:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


rule audit:
    input:
        config=study_paths.RESOLVED_CONFIG,
        code=verb_code("audit", "initstudy.inits.custom"),
    output:
        study_paths.AUDIT,
    log:
        "logs/audit.log",
    conda:
        "../envs/initstudy.yaml"
    shell:
        "python -m initstudy audit --config {input.config:q} --csv {output:q} > {log:q} 2>&1"


rule theory:
    input:
        config=study_paths.RESOLVED_CONFIG,
        signal=study_paths.TABLES["signal"],
        code=verb_code("theory"),
    output:
        **study_catalog.paths("theory"),
    log:
        "logs/theory.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m initstudy theory --config {input.config:q} --signal {input.signal:q}"
        " --out-dir {params.out_dir:q} > {log:q} 2>&1"


# The symmetry control on the study's own runs: a zeros run that learned beyond chance
# means the pipeline is broken, so it fails the build, naming the cell (exit 3).
rule check_controls:
    input:
        runs=study_paths.TABLES["runs"],
        code=verb_code("check-controls"),
    output:
        study_paths.CONTROLS,
    log:
        "logs/check_controls.log",
    conda:
        "../envs/initstudy.yaml"
    shell:
        "python -m initstudy check-controls --runs {input.runs:q} --out {output:q} > {log:q} 2>&1"
        " || (tail -n 20 {log:q} >&2; exit 1)"


# Each control study (config/controls/<name>.yaml) checked on its own runs, at its
# config's margin: a violation fails the build naming the cell (exit 3), and the table
# (the control's row, then one per cell, with the distinct values beside the runs)
# goes to the paper's controls part.
for control_name in CONTROLS:

    rule:
        name:
            f"check_control_{control_name}"
        input:
            runs=study_paths.control_tables(control_name)["runs"],
            config=study_paths.control_config(control_name),
            code=verb_code("check-controls"),
        output:
            study_paths.control_check(control_name),
        log:
            f"logs/controls/{control_name}/check.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        shell:
            "python -m initstudy check-controls --config {input.config:q} --runs {input.runs:q}"
            " --out {output:q} > {log:q} 2>&1 || (tail -n 20 {log:q} >&2; exit 1)"


# Each claim decided from its tables (config/claims/<name>.yaml): its verdict and the
# tables of its figure (its statistic's entry of initstudy.study.catalog.CLAIM_FIGURES), then one table
# of every claim. A claim's own zeros runs are checked as the study's are, before it
# is decided; its verdict says whether its rules are registered (config/registry.yaml,
# the claim verb's default --registry; an input when it exists, so registering reruns it).
CLAIM_REGISTRY = (
    [study_paths.CLAIM_REGISTRY] if os.path.isfile(study_paths.CLAIM_REGISTRY) else []
)

for claim_name, claim_config in CLAIMS.items():
    claim_folder = study_paths.claim_dir(claim_name)

    rule:
        name:
            f"claim_{claim_name}"
        input:
            **study_paths.claim_tables(claim_name),
            config=study_paths.claim_config(claim_name),
            registry=CLAIM_REGISTRY,
            code=verb_code("claim"),
        output:
            verdict=f"{claim_folder}/{study_paths.CLAIM_VERDICT}",
            figure_tables=list(
                study_paths.claim_figure_tables(
                    claim_name, claim_config["claim"]["statistic"]
                ).values()
            ),
        log:
            f"logs/claims/{claim_name}/claim.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        params:
            tables_dir=lambda wildcards, input: os.path.dirname(input.runs),
            out_dir=lambda wildcards, output: os.path.dirname(output.verdict),
        shell:
            "python -m initstudy claim --config {input.config:q} --tables-dir {params.tables_dir:q}"
            " --out-dir {params.out_dir:q} > {log:q} 2>&1 || (tail -n 20 {log:q} >&2; exit 1)"


CLAIMS_TABLE_ENTRY = study_catalog.of_kind("claims_table")[0]

if CLAIMS:

    rule claims_table:
        input:
            verdicts=[getattr(rules, f"claim_{name}").output.verdict for name in CLAIMS],
            code=verb_code("claims-table"),
        output:
            report(
                study_paths.CLAIMS_TABLE,
                caption=report_caption(CLAIMS_TABLE_ENTRY),
                category=CLAIMS_TABLE_ENTRY.category,
            ),
        log:
            "logs/claims/claims_table.log",
        conda:
            "../envs/initstudy.yaml"
        shell:
            "python -m initstudy claims-table {input.verdicts:q} --out {output:q} > {log:q} 2>&1"

    localrules:
        claims_table,


# Light rules run where Snakemake runs, not as cluster jobs (no queueing, no TeX on nodes).
localrules:
    check_controls,
    tune,
    stats,
    analyze,
    audit,
    theory,
