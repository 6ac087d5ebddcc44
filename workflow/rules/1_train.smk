# Training: the runs without a finished record of the same identity (fields,
# initializer spec, every setting that changes their numbers) are packed, and one
# job trains each pack as one stacked model. Finished records are a cache: adding
# seeds, initializers or depths trains exactly the new runs, and changing threads,
# pack size or resources retrains nothing. Each pack's manifest (its members and the
# training settings) is written when the workflow is parsed; the job reads it, writes
# one record per run and then its `.done` list, the job's output.
from snakemake.exceptions import WorkflowError

# What is known to train when the workflow is parsed (stage_one, 0_common.smk).
PENDING = stage_one(config)
# Every study the workflow builds (the main one, its claims and its control studies,
# 0_common.smk) trains through the same packs: a run two studies share under one
# identity trains once. A control study's key is control-<name> (no claim's name has a
# hyphen).
STUDY_STATES = {
    "study": PENDING,
    **{name: stage_one(cfg) for name, cfg in CLAIMS.items()},
    **{f"control-{name}": pending_runs.pending(cfg) for name, cfg in CONTROLS.items()},
}
STUDY_CONFIGS = {
    "study": config,
    **CLAIMS,
    **{f"control-{name}": cfg for name, cfg in CONTROLS.items()},
}
# The studies whose evaluation stage waits for a checkpoint (the main study, claims).
TWO_STAGE = [
    key for key in ("study", *CLAIMS) if study_stages.two_stage(STUDY_CONFIGS[key])
]
for control_name, control_config in CONTROLS.items():
    if study_stages.two_stage(control_config):
        sys.exit(
            f"initstudy: controls: {control_name!r}: tuning.selection_seeds is set; a control "
            "checks runs at fixed settings, expected no tuning stages"
        )
# As many train jobs run at once as the cores given hold (`--cores`, or the cluster's
# jobs), so packs are cut to keep them all busy to the end.
try:
    TRAIN_SLOTS = max(1, workflow.cores // config["training"]["threads"])
except WorkflowError:  # no --cores: a cluster profile; packs are cut by pack_size alone
    TRAIN_SLOTS = 1
WORK = pending_runs.work(
    [(STUDY_STATES[name], STUDY_CONFIGS[name]["training"]) for name in STUDY_STATES],
    config["training"],
    TRAIN_SLOTS,
)
pending_runs.write_manifests(WORK)
for name, state in STUDY_STATES.items():
    print(pending_runs.describe(state, name), file=sys.stderr)
print(f"initstudy: {len(WORK.packs)} train jobs", file=sys.stderr)


# The code of the trainer is not an input: a record is retrained only when its
# identity changes, never because the code was edited (bump
# initstudy.train.identity.IDENTITY_VERSION when a change alters the numbers). What
# only Keras can check (initializer classes and their arguments) each job checks
# first, before it trains anything, and a failure prints its one-line reason.
rule train:
    input:
        pack=f"{study_paths.PACKS_DIR}/{{pack}}.json",
    output:
        f"{study_paths.PACKS_DIR}/{{pack}}.done",
    log:
        "logs/train/{pack}.log",
    # Costliest first (GFLOP planned): with several jobs at once, the long packs start
    # at once and the short ones fill in after, instead of a long one starting last.
    priority: lambda wildcards: WORK.flops.get(wildcards.pack, 0.0) / 1e9
    conda:
        "../envs/initstudy.yaml"
    threads: config["training"]["threads"]
    resources:
        gpu=int(config["training"]["gpu"]),
        mem_mb=4000,
        runtime=120,
    shell:
        "python -m initstudy train --pack @{input.pack:q} --threads {threads}"
        " --done {output:q} > {log:q} 2>&1 || (tail -n 5 {log:q} >&2; exit 1)"
