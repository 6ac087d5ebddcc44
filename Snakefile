# initstudy: train the grid in config/config.yaml, aggregate, test, draw, and
# compile the paper. `snakemake --cores 8` from the repository root runs it all;
# `snakemake --report report.html` then gathers figures and tables in one HTML page.
# With only the published tables in results/, rebuild statistics, figures and paper:
#   snakemake --cores 8 --configfile results/config.resolved.yaml --config from_tables=True


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# from_tables=True: only the published tables in results/ are at hand, so the rules
# that train and aggregate are not part of the workflow (see the config schema).
if not config["from_tables"]:

    include: "workflow/rules/train.smk"
    include: "workflow/rules/aggregate.smk"


include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/paper.smk"


localrules:
    all,


rule all:
    default_target: True
    input:
        PAPER_PDF,
