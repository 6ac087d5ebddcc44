# One job per pack: the pack's runs are trained as one stacked model in one
# process, and the job's outputs are the pack's records, one per run. With
# training.pack_size: 1 every run is its own job.


def pack_payload(pack):
    """The pack as JSON for `initstudy train --pack` (a params change retrains)."""
    return json.dumps(
        {
            "pack_id": pack.pack_id,
            "runs": [run.to_dict() for run in pack.runs],
            "training": config["training"],
        },
        sort_keys=True,
    )


def custom_initializer_modules(runs):
    """The initstudy modules the custom initializers of `runs` name (as in
    "initstudy.inits.custom:FixedUniform"), imported by name at run time: no import
    statement shows them."""
    names = {run.init.name.partition(":")[0] for run in runs if run.init.is_custom}
    return sorted(name for name in names if name.startswith("initstudy."))


for pack in PACKS:

    rule:
        name:
            f"train_{pack.pack_id.replace('-', '_')}"
        input:
            code=verb_code("train", *custom_initializer_modules(pack.runs)),
        output:
            [run.record_path() for run in pack.runs],
        log:
            f"logs/train/{pack.pack_id}.log",
        conda:
            "../envs/initstudy.yaml"
        threads: config["training"]["threads"]
        resources:
            gpu=int(config["training"]["gpu"]),
            mem_mb=4000,
            runtime=120,
        params:
            pack=pack_payload(pack),
        shell:
            "python -m initstudy train --pack {params.pack:q} --threads {threads}"
            " > {log:q} 2>&1"
