# The paper: `typeset` writes its macros (every number it cites, from the analysis
# tables) and its LaTeX tables; latexmk compiles paper/main.tex with them and the
# figures.


rule typeset:
    input:
        runs=study_paths.TABLES["runs"],
        analysis=rules.analyze.output,
        tuning=rules.tune.output.tuning,
        stats=rules.stats.output,
        audit=study_paths.AUDIT,
        theory=rules.theory.output.theory,
        config=study_paths.RESOLVED_CONFIG,
        provenance=study_paths.PROVENANCE,
        code=verb_code("typeset"),
    output:
        [a.path for a in study_catalog.of_kind("typeset")],
    log:
        "logs/typeset.log",
    conda:
        "../envs/initstudy.yaml"
    params:
        analysis_dir=lambda wildcards, input: os.path.dirname(input.analysis[0]),
        stats_dir=lambda wildcards, input: os.path.dirname(input.stats[0]),
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m initstudy typeset --runs {input.runs:q} --analysis-dir {params.analysis_dir:q}"
        " --stats-dir {params.stats_dir:q} --audit {input.audit:q} --theory {input.theory:q}"
        " --config {input.config:q} --provenance {input.provenance:q} --out-dir {params.out_dir:q}"
        " > {log:q} 2>&1"


PAPER_GENERATED.extend(rules.typeset.output)


# The paper's controls part (paper/sections/controls.tex reads it): the study's own
# symmetry control and each control study's, with runs and distinct values. A control
# that failed stopped the build before this.
rule typeset_controls:
    input:
        controls=[
            study_paths.CONTROLS,
            *(study_paths.control_check(name) for name in CONTROLS),
        ],
        code=verb_code("typeset-controls"),
    output:
        [a.path for a in study_catalog.of_kind("typeset_controls")],
    log:
        "logs/typeset_controls.log",
    localrule: True
    conda:
        "../envs/initstudy.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "python -m initstudy typeset-controls {input.controls:q} --out-dir {params.out_dir:q}"
        " > {log:q} 2>&1"


PAPER_GENERATED.extend(rules.typeset_controls.output)


# The claims section's macros, table and text (paper/sections/claims.tex reads them
# when they exist), from the table of every claim; with no claims there is no section.
if CLAIMS:

    rule typeset_claims:
        input:
            claims=study_paths.CLAIMS_TABLE,
            code=verb_code("typeset-claims"),
        output:
            [a.path for a in study_catalog.of_kind("typeset_claims")],
        log:
            "logs/claims/typeset.log",
        conda:
            "../envs/initstudy.yaml"
        params:
            out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        shell:
            "python -m initstudy typeset-claims --claims {input.claims:q} --out-dir {params.out_dir:q}"
            " > {log:q} 2>&1"

    localrules:
        typeset_claims,

    PAPER_GENERATED.extend([*rules.typeset_claims.output, *CLAIM_FIGURES])


PAPER_ENTRY = study_catalog.of_kind("paper")[0]


rule paper:
    input:
        PAPER_GENERATED,
        tex=PAPER_SOURCES,
    output:
        report(
            study_paths.PAPER_PDF,
            caption=report_caption(PAPER_ENTRY),
            category=PAPER_ENTRY.category,
        ),
    log:
        "logs/paper.log",
    conda:
        "../envs/latex.yaml"
    shell:
        "cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error -outdir=build main.tex"
        " > ../{log:q} 2>&1"


# Light rules run where Snakemake runs, not as cluster jobs (no queueing, no TeX on nodes).
localrules:
    typeset,
    paper,


# `snakemake publish`: what the study publishes (initstudy.study.catalog marks it), in
# one archive; unpacked into a fresh checkout's results/, it rebuilds the paper with
# --config from_tables=True.
rule publish:
    input:
        [
            path
            for path in study_publish.published_paths(CLAIMS, CONTROLS)
            if path != study_paths.RESOLVED_CONFIG
        ],
        config=study_paths.RESOLVED_CONFIG,
        code=verb_code("publish"),
    output:
        study_paths.PUBLISHED,
    log:
        "logs/publish.log",
    localrule: True
    conda:
        "../envs/initstudy.yaml"
    shell:
        "python -m initstudy publish --config {input.config:q} --out {output:q} > {log:q} 2>&1"
