# Analysis tables -> figures. Each figure of initstudy.study.catalog is drawn from the
# tables its entry names, by `python -m initstudy draw`; it computes nothing. A rule's
# code is its own drawing module (imported by name when it draws) and the registry,
# so editing one drawing module redraws its figures and rebuilds the PDF, never more.

#: Where each table a study figure may draw lives.
FIGURE_INPUTS = study_catalog.figure_table_paths()
#: Every claim's figure (the claims section of the paper shows them).
CLAIM_FIGURES = []


def drawing_module(entry):
    """The module of a catalog entry's drawing function."""
    return entry.drawer.partition(":")[0]


for figure in study_catalog.FIGURES:

    rule:
        name:
            f"figure_{figure.name}"
        input:
            **{table: FIGURE_INPUTS[table] for table in figure.draws},
            code=verb_code("draw", drawing_module(figure)),
        output:
            report(
                figure.path,
                caption=report_caption(figure),
                category=figure.category,
            ),
        log:
            f"logs/figures/{figure.name}.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        params:
            tables=" ".join(
                f"--table {table}={FIGURE_INPUTS[table]}" for table in figure.draws
            ),
        shell:
            "python -m initstudy draw {output:q} {params.tables} > {log:q} 2>&1"

    PAPER_GENERATED.extend(getattr(rules, f"figure_{figure.name}").output)


# Each claim's figure, drawn from the tables `initstudy claim` wrote beside its verdict
# by its statistic's drawing function (`draw --claim STATISTIC`).
for claim_name, claim_config in CLAIMS.items():
    claim_figure = study_catalog.CLAIM_FIGURES.get(claim_config["claim"]["statistic"])
    if claim_figure is None:
        continue
    claim_figure_tables = study_paths.claim_figure_tables(claim_name, claim_figure.name)

    rule:
        name:
            f"figure_claim_{claim_name}"
        input:
            **claim_figure_tables,
            code=verb_code("draw", drawing_module(claim_figure)),
        output:
            report(
                study_paths.claim_figure(claim_name),
                caption=report_caption(claim_figure),
                category=claim_figure.category,
            ),
        log:
            f"logs/figures/claim_{claim_name}.log",
        localrule: True
        conda:
            "../envs/initstudy.yaml"
        params:
            statistic=claim_figure.name,
            tables=" ".join(
                f"--table {table}={path}"
                for table, path in claim_figure_tables.items()
            ),
        shell:
            "python -m initstudy draw {output:q} --claim {params.statistic} {params.tables}"
            " > {log:q} 2>&1"

    CLAIM_FIGURES.append(study_paths.claim_figure(claim_name))
