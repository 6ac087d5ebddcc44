# initstudy: train the grid in config/config.yaml, aggregate, test, draw, and
# compile the paper. `snakemake --cores 8` from the repository root runs it all.


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/paper.smk"


rule all:
    default_target: True
    input:
        PAPER_PDF,
