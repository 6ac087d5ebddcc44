"""The initializer audit: correct schemes pass; the channels-first bug and wrong claims fail.
What a spec intends (:mod:`initstudy.analysis.scheme`, Keras-free) agrees with Keras."""

from __future__ import annotations

import math
import re

import keras
import numpy as np
import pandas as pd
import pytest
from keras.src.initializers.random_initializers import compute_fans

from initstudy import cli
from initstudy.analysis import audit, sampling, scheme
from initstudy.core.table_io import read_table
from initstudy.inits import custom as ci
from initstudy.inits import resolve
from initstudy.study import fans
from initstudy.study.builtin_initializers import BUILTINS
from initstudy.study.specs import InitializerError, parse
from initstudy.paper.latex import breakable
from initstudy.paper.macros import audit_macros
from initstudy.paper.tables import audit_table

CUSTOM = "initstudy.inits.custom:"
CONV_KINDS = {"conv1d", "conv2d"}

CORRECT = [
    {"name": CUSTOM + "FixedUniform", "limit": 0.05},
    {"name": CUSTOM + "ClippedNormal", "stddev": 0.1},
    CUSTOM + "HandVarianceScaling",
    {"name": CUSTOM + "HandVarianceScaling", "scale": 1.0, "mode": "fan_avg", "distribution": "uniform"},
    {"name": CUSTOM + "HandVarianceScaling", "mode": "fan_out", "distribution": "untruncated_normal"},
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "random_normal", "random_uniform", "truncated_normal",
    {"name": "random_uniform", "minval": 0.0, "maxval": 1.0},
    {"name": "variance_scaling", "scale": 0.5, "mode": "fan_out", "distribution": "uniform"},
    {"name": "variance_scaling", "scale": 3.0, "mode": "fan_avg", "distribution": "untruncated_normal"},
    {"name": "variance_scaling", "scale": 1.5, "mode": "fan_in", "distribution": "normal"},
    "orthogonal", {"name": "orthogonal", "gain": 2.0},
    "zeros", "ones", {"name": "constant", "value": 0.3}, {"name": "identity", "gain": 0.5},
]  # fmt: skip


class Undeclared(keras.initializers.Initializer):
    """He-like normal draws from a class that declares no intended scheme."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        stddev = math.sqrt(2.0 / fans.keras_fans(shape)[0])
        return keras.random.normal(shape, stddev=stddev, dtype=dtype, seed=self.seed)


class SubclassedVarianceScaling(keras.initializers.VarianceScaling):
    """A subclass of a Keras built-in that declares nothing: it intends what its base draws."""

    def __init__(self, scale=3.0, seed=None):
        super().__init__(scale=scale, mode="fan_out", distribution="normal", seed=seed)


#: Every built-in at Keras' defaults, and arguments that differ from them.
BUILTIN_SPECS = [*BUILTINS,
    {"name": "variance_scaling", "scale": 0.5, "mode": "fan_out", "distribution": "uniform"},
    {"name": "variance_scaling", "scale": 3.0, "mode": "fan_avg", "distribution": "untruncated_normal"},
    {"name": "variance_scaling", "distribution": "normal"},
    {"name": "random_normal", "mean": 0.2, "stddev": 0.3},
    {"name": "truncated_normal", "mean": -0.1, "stddev": 2.0},
    {"name": "random_uniform", "minval": 0.0, "maxval": 1.0}, {"name": "orthogonal", "gain": 2.0},
    {"name": "identity", "gain": 0.5}, {"name": "constant", "value": 0.3},
]  # fmt: skip


def keras_scheme(init: keras.initializers.Initializer) -> scheme.Scheme:
    """What a Keras instance's class and attributes say it draws: the oracle of the table."""
    inits = keras.initializers
    if isinstance(init, inits.VarianceScaling):
        family = {"uniform": "uniform", "truncated_normal": "truncated_normal",
                  "untruncated_normal": "normal"}[init.distribution]
        return scheme.Scheme(family, scale=float(init.scale), mode=init.mode)
    if isinstance(init, (inits.RandomNormal, inits.TruncatedNormal)):
        family = "normal" if isinstance(init, inits.RandomNormal) else "truncated_normal"
        return scheme.Scheme(family, mean=float(init.mean), spread=float(init.stddev))
    if isinstance(init, inits.RandomUniform):
        low, high = float(init.minval), float(init.maxval)
        return scheme.Scheme("uniform", mean=(low + high) / 2, spread=(high - low) / 2)
    if isinstance(init, (inits.Orthogonal, inits.Identity)):
        family = "orthogonal" if isinstance(init, inits.Orthogonal) else "identity"
        return scheme.Scheme(family, spread=float(init.gain))
    value = {inits.Zeros: 0.0, inits.Ones: 1.0}.get(type(init))
    return scheme.Scheme("constant", mean=float(init.value if value is None else value))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return sampling.audit([*CORRECT, CUSTOM + "ChannelsFirstHe"])


def test_fans_follow_keras():
    """The Keras-free fans (initstudy.study.fans, which the custom initializers draw
    with) are Keras'."""
    for shape in sampling.DEFAULT_SHAPES:
        assert fans.keras_fans(shape) == compute_fans(shape)
    assert fans.channels_first_fans((64, 32)) == (64, 32)
    assert fans.channels_first_fans((3, 3, 16, 32)) == (3 * 16 * 32, 3 * 16 * 32)


@pytest.mark.parametrize("spec", BUILTIN_SPECS, ids=lambda s: parse(s).label)
def test_builtin_schemes_say_what_keras_classes_draw(spec):
    assert scheme.builtin_scheme(parse(spec)) == keras_scheme(resolve.build(spec, seed=0))
    assert scheme.intended_scheme(spec) == scheme.builtin_scheme(parse(spec))  # no Keras needed


def test_a_custom_class_declares_through_keras():
    """A custom class's declaration is read by building it (sampling.class_declaration);
    a subclass of a built-in that declares nothing intends what the built-in draws."""
    fixed = {"name": CUSTOM + "FixedUniform", "limit": 0.05}
    with pytest.raises(InitializerError, match="pass class_declaration"):
        scheme.intended_scheme(fixed)
    assert scheme.intended_scheme(fixed, sampling.class_declaration) == scheme.Scheme("uniform", spread=0.05)
    subclass = {"name": f"{__name__}:SubclassedVarianceScaling", "scale": 0.5}
    assert scheme.intended_scheme(subclass, sampling.class_declaration) == scheme.Scheme(
        "truncated_normal", scale=0.5, mode="fan_out")
    assert scheme.intended_scheme(f"{__name__}:Undeclared", sampling.class_declaration) is None
    assert scheme.intended_scheme({"name": f"{__name__}:Undeclared", "intended": "he_normal"}) == (
        scheme.intended_scheme("he_normal"))


def test_hand_variance_scaling_draws_what_keras_draws():
    for distribution in ("uniform", "truncated_normal", "untruncated_normal"):
        args = {"scale": 2.0, "mode": "fan_avg", "distribution": distribution, "seed": 7}
        hand = ci.HandVarianceScaling(**args)(shape=(3, 3, 16, 32))
        ours = keras.initializers.VarianceScaling(**args)(shape=(3, 3, 16, 32))
        np.testing.assert_allclose(hand, ours, rtol=1e-6)


@pytest.mark.parametrize(
    "cls", [ci.FixedUniform, ci.ClippedNormal, ci.HandVarianceScaling, ci.ChannelsFirstHe]
)
def test_custom_initializers_are_seeded_and_serializable(cls):
    init = cls(seed=3)
    clone = cls.from_config(init.get_config())
    np.testing.assert_array_equal(init(shape=(8, 4)), clone(shape=(8, 4)))
    assert not np.array_equal(init(shape=(8, 4)), cls(seed=4)(shape=(8, 4)))


def test_correct_initializers_pass(table):
    correct = table[table.initializer != "ChannelsFirstHe"]
    checked = correct[correct.verdict != "skip"]
    assert (checked.verdict == "pass").all(), checked[checked.verdict != "pass"].reason.tolist()
    skipped = correct[correct.verdict == "skip"]
    assert set(skipped.initializer) == {"identity-gain0.5"}
    assert set(skipped.kind) == CONV_KINDS


def test_channels_first_he_fails_exactly_on_conv_kernels(table):
    buggy = table[table.initializer == "ChannelsFirstHe"]
    is_conv = buggy.kind.isin(CONV_KINDS)
    assert (buggy[is_conv].verdict == "FAIL").all()
    assert (buggy[~is_conv].verdict == "pass").all()
    assert buggy[is_conv].best_fit.str.startswith("2/fan_in channels-first").all()
    # (3, 3, 16, 32): fan_in 144 intended, 3*16*32 = 1536 computed
    row = buggy[buggy["shape"] == "(3, 3, 16, 32)"].iloc[0]
    assert row.measured_var / row.target_var == pytest.approx(144 / 1536, rel=0.05)


def test_tolerances_derive_from_the_sample_size(table):
    row = table[(table.initializer == "he_uniform") & (table["shape"] == "(64, 64)")].iloc[0]
    kurtosis_uniform = 9 / 5
    assert row.var_tol == pytest.approx(row.z * math.sqrt((kurtosis_uniform - 1) / row.n))
    assert row.mean_tol == pytest.approx(row.z * math.sqrt(row.target_var / row.n))
    assert row.n >= 50_000 and row.n_draws == math.ceil(50_000 / (64 * 64))


def test_wrong_declarations_are_flagged():
    wrong = [
        {"name": CUSTOM + "FixedUniform", "limit": 0.05, "label": "too_narrow",
         "intended": "random_uniform minval=-0.1 maxval=0.1"},
        {"name": CUSTOM + "ClippedNormal", "stddev": 0.05, "label": "clipped_not_truncated",
         "intended": {"name": "truncated_normal", "stddev": 0.05}},
        {"name": CUSTOM + "HandVarianceScaling", "distribution": "untruncated_normal",
         "label": "normal_not_truncated", "intended": "he_normal"},
    ]  # fmt: skip
    table = sampling.audit(wrong, shapes=[(64, 64), (3, 3, 16, 32)])
    assert (table.verdict == "FAIL").all()
    same_variance = table[table.initializer == "normal_not_truncated"]
    assert (same_variance.var_rel_err.abs() <= same_variance.var_tol).all()
    assert same_variance.reason.str.startswith("KS").all()


def test_skips_say_why():
    specs = [{"name": "lsuv"}, {"name": f"{__name__}:Undeclared"}]
    table = sampling.audit(specs, shapes=[(64, 32), (3, 3, 16, 32)])
    assert (table.verdict == "skip").all()
    assert table.reason.iloc[0].startswith("lsuv: data-dependent")
    undeclared = table[table.initializer == "Undeclared"]
    assert undeclared.best_fit.str.startswith("2/fan_in (").all()


def test_declaration_syntax_errors_name_the_problem():
    with pytest.raises(InitializerError, match="key=value"):
        scheme.scheme_of_declared("variance_scaling scale")
    with pytest.raises(InitializerError, match="Keras built-in"):
        scheme.scheme_of_declared(CUSTOM + "FixedUniform")
    assert scheme.scheme_of_declared("clipped_normal stddev=0.1").text == "clipped_normal sigma=0.1"


def test_main_writes_only_the_csv_and_the_paper_typesets_its_verdict_matrix(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("grid:\n  initializers: [he_normal, {name: lsuv}]\n")
    csv = tmp_path / "out" / "audit.csv"
    table = audit.main(config, csv)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["audit.csv", "config.yaml"]
    back = read_table(csv)
    assert list(back.columns) == sampling.COLUMNS
    assert len(table) == len(back) == 2 * len(sampling.DEFAULT_SHAPES)
    latex = audit_table(back)  # as typeset reads it
    assert latex == audit_table(table)
    assert latex.startswith(r"\begin{tabular}") and r"\toprule" in latex
    assert r"\multicolumn{3}{c}{Dense} & Conv1D & \multicolumn{2}{c}{Conv2D}" in latex
    assert r"he\_\allowbreak{}normal & pass & pass & pass & pass & pass & pass \\" in latex
    assert "lsuv & skip & skip" in latex
    assert audit_macros(back) == audit_macros(table)


def test_the_audit_verb_writes_only_the_csv(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text("grid:\n  initializers: [zeros]\n")
    assert cli.main(["audit", "--config", "config.yaml", "--csv", "results/audit.csv"]) == 0
    assert capsys.readouterr().out.strip() == "results/audit.csv"
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == [
        "config.yaml", "results/audit.csv"]
    assert set(read_table(tmp_path / "results" / "audit.csv")["verdict"]) == {"pass"}
    (tmp_path / "bad.yaml").write_text("training: {}\n")
    assert cli.main(["audit", "--config", "bad.yaml", "--csv", "results/bad.csv"]) == 2
    assert "no grid.initializers list to audit" in capsys.readouterr().err
    assert not (tmp_path / "results" / "bad.csv").exists()


def test_extra_initializers_are_audited_once_beside_the_grid():
    fixed = {"name": CUSTOM + "FixedUniform", "limit": 0.05}
    config = {
        "grid": {"initializers": ["he_normal", fixed]},
        "audit": {"extra_initializers": [dict(fixed), CUSTOM + "ChannelsFirstHe"]},
    }
    assert audit.audited_specs(config) == ["he_normal", fixed, CUSTOM + "ChannelsFirstHe"]
    assert audit.audited_specs({"grid": {"initializers": ["zeros"]}}) == ["zeros"]


def test_failed_cells_and_macros_name_the_channels_first_bug():
    table = sampling.audit(["he_normal", CUSTOM + "ChannelsFirstHe"], shapes=[(64, 64), (3, 3, 16, 32)])
    latex = audit_table(table)
    # intended Var = 2 / 144, drawn 2 / 1536: a ratio of 0.094 (printed to 2 digits)
    assert re.search(r"ChannelsFirstHe & pass & \\textbf\{FAIL\} \$\\times\$0\.09[34] ", latex)
    macros = audit_macros(table)
    assert macros["AuditNumFail"] == r"\num{1}" and macros["AuditNumPass"] == r"\num{3}"
    assert macros["AuditChannelsFirstList"] == "ChannelsFirstHe"
    assert re.fullmatch(r"\\num\{0\.09[34]\}", macros["AuditChannelsFirstRatioMin"])
    assert macros["AuditFailedList"] == "ChannelsFirstHe"


def test_audit_macros_without_failures_or_statistics():
    table = sampling.audit(["zeros", "lsuv"], shapes=[(64, 64)])
    macros = audit_macros(table)
    assert macros["AuditNumFail"] == r"\num{0}" and macros["AuditFailedList"] == "none"
    assert macros["AuditChannelsFirstRatioMin"] == macros["AuditChannelsFirstRatioMax"] == "--"
    assert macros["AuditNumSkip"] == r"\num{1}" and macros["AuditChannelsFirstList"] == "none"


def test_breakable_labels():
    assert breakable(r"he\_normal-x") == r"he\_\allowbreak{}normal-\allowbreak{}x"
