# The paper: latexmk compiles paper/main.tex with everything generated above.


rule paper:
    input:
        PAPER_GENERATED,
        tex=PAPER_SOURCES,
    output:
        report(PAPER_PDF, caption="../report/paper.rst", category="Paper"),
    log:
        "logs/paper.log",
    conda:
        "../envs/latex.yaml"
    shell:
        "cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error -outdir=build main.tex"
        " > ../{log:q} 2>&1"


# Light rules run where Snakemake runs, not as cluster jobs (no queueing, no TeX on nodes).
localrules:
    paper,
