# initstudy: train the grid in config/config.yaml, aggregate, test, draw, and
# compile the paper. `snakemake --cores 8` from the repository root runs it all;
# `snakemake --report report.html` then gathers figures and tables in one HTML page.
# With only the published tables in results/, rebuild statistics, figures and paper:
#   snakemake --cores 8 --configfile results/config.resolved.yaml --config from_tables=True


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/0_common.smk"


# from_tables=True: only the published tables in results/ are at hand, so the rules
# that train and aggregate are not part of the workflow (see the config schema).
if not config["from_tables"]:

    include: "workflow/rules/1_train.smk"
    include: "workflow/rules/2_tables.smk"


include: "workflow/rules/3_analysis.smk"
include: "workflow/rules/4_figures.smk"
include: "workflow/rules/5_paper.smk"


localrules:
    all,
    claims,


rule all:
    default_target: True
    input:
        PAPER_PDF,


# `snakemake claims`: only the claims (config["claims"]): their runs, tables, verdicts,
# the table of every claim, and their figures; and the control studies that guard them
# (config["controls"]), checked on their own runs.
rule claims:
    input:
        study_paths.CLAIMS_TABLE if CLAIMS else [],
        CLAIM_FIGURES,
        [study_paths.control_check(name) for name in CONTROLS],
