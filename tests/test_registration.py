"""Registered rules: `initstudy register` hashes a claim's hypothesis, statistic,
parameters and rules, dates and commits them, refuses once any of its runs has a record
(unless --after-data, which the entry then says), and each verdict carries the hash and
its status: registered, registered after data, or unregistered when the rules changed
or records older than the registration exist."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml
from conftest import REPO
from test_claims import he_accuracy, he_study, one_stage_config, write_study

from initstudy import cli
from initstudy.analysis.claims import evaluate, registration
from initstudy.study import config as study_config
from initstudy.study import paths
from initstudy.train.pending import pending

CONFIG = REPO / paths.claim_config("he2015")


@pytest.fixture
def he2015():
    return study_config.load(CONFIG)


def fake_record(cfg: dict, root, index: int = 0):
    """An (empty) record file where the claim's run ``index`` keeps its record."""
    state = pending(cfg, root)
    path = state.records[state.runs[index].run_id]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


def test_the_hash_is_of_the_rules_not_of_their_spelling(he2015):
    claim = he2015["claim"]
    digest = registration.rules_hash(claim)
    assert len(digest) == 64 and digest == registration.rules_hash(copy.deepcopy(claim))
    spelled = copy.deepcopy(claim)
    spelled["hypothesis"] = "  " + claim["hypothesis"].replace(" ", "\n  ") + "\n"
    spelled["rules"]["trains"]["test"] = "sign_flip"   # the default, written out
    spelled["params"]["scale"] = "identity"            # the family's default, written out
    assert registration.rules_hash(spelled) == digest
    changed = copy.deepcopy(claim)
    changed["rules"]["trains"]["min_effect"] = 0.05
    assert registration.rules_hash(changed) != digest
    renamed = copy.deepcopy(claim)
    renamed["params"]["at_chance"] = ["glorot_uniform"]
    assert registration.rules_hash(renamed) != digest


def test_register_before_the_data_then_refuse_after(tmp_path, he2015, capsys):
    registry, root = tmp_path / "registry.yaml", tmp_path / "runs"
    assert cli.main(["register", "he2015", f"--registry={registry}", f"--records-root={root}"]) == 0
    entry = registration.read(registry)["he2015"]
    assert entry["status"] == "registered" and entry["hash"] == registration.rules_hash(he2015["claim"])
    assert entry["commit"] and pd.Timestamp(entry["date"]).tzinfo is not None
    assert registry.read_text().startswith("# Registered claim rules")
    assert "he2015: registered (registered" in capsys.readouterr().out
    # the same rules again: unchanged, same date
    assert cli.main(["register", "he2015", f"--registry={registry}", f"--records-root={root}"]) == 0
    assert registration.read(registry)["he2015"] == entry and "unchanged" in capsys.readouterr().out
    # changed rules, once a run has a record: refused in one line (exit 2), registry untouched
    fake_record(he2015, root, index=5)
    changed = copy.deepcopy(he2015)
    changed["claim"]["rules"]["at_chance"]["min_effect"] = 0.02
    (tmp_path / "he2015.yaml").write_text(yaml.safe_dump(changed))
    assert cli.main(["register", str(tmp_path / "he2015.yaml"), f"--registry={registry}",
                     f"--records-root={root}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "1 of its runs already have records" in err and "--after-data" in err
    assert registration.read(registry)["he2015"] == entry


def test_register_refuses_once_a_record_exists_and_after_data_says_so(tmp_path, he2015, capsys):
    registry, root = tmp_path / "registry.yaml", tmp_path / "runs"
    record = fake_record(he2015, root)
    assert record.is_relative_to(root) and record.name.startswith("record-")
    with pytest.raises(registration.RegistrationError, match="already have records"):
        registration.register("he2015", he2015, registry, root)
    assert cli.main(["register", "he2015", f"--registry={registry}", f"--records-root={root}"]) == 2
    assert "already have records" in capsys.readouterr().err and not registry.exists()
    assert cli.main(["register", "he2015", "--after-data", f"--registry={registry}",
                     f"--records-root={root}"]) == 0
    assert registration.read(registry)["he2015"]["status"] == "registered after data"
    verdict = evaluate.verdicts("he2015", he2015["claim"], he_study(he_accuracy()), registration.read(registry))
    assert set(verdict["registration"]) == {"registered after data"}


def test_a_changed_rule_makes_the_verdict_unregistered(tmp_path, he2015):
    registry = tmp_path / "registry.yaml"
    registration.register("he2015", he2015, registry, tmp_path / "runs")
    entries = registration.read(registry)
    tables = he_study(he_accuracy())
    verdict = evaluate.verdicts("he2015", he2015["claim"], tables, entries)
    assert set(verdict["registration"]) == {"registered"}
    assert set(verdict["rules_hash"]) == {entries["he2015"]["hash"]}
    changed = copy.deepcopy(he2015["claim"])
    changed["rules"]["trains"]["min_effect"] = 0.05
    verdict = evaluate.verdicts("he2015", changed, tables, entries)
    assert verdict.iloc[0]["registration"] == "unregistered"
    assert verdict.iloc[0]["rules_hash"] != entries["he2015"]["hash"]
    # no entry at all, or another claim's: unregistered
    assert evaluate.verdicts("he2015", he2015["claim"], tables, {}).iloc[0]["registration"] == "unregistered"
    assert evaluate.verdicts("other", he2015["claim"], tables, entries).iloc[0]["registration"] == "unregistered"


def test_records_older_than_the_registration_make_it_unregistered(tmp_path, he2015):
    registry = tmp_path / "registry.yaml"
    registration.register("he2015", he2015, registry, tmp_path / "runs", now="2025-06-01T12:00:00+00:00")
    entries = registration.read(registry)
    tables = he_study(he_accuracy())
    after = tables._replace(runs=tables.runs.assign(created="2025-06-01T12:00:05+00:00"))
    assert evaluate.verdicts("he2015", he2015["claim"], after, entries).iloc[0]["registration"] == "registered"
    runs = after.runs.copy()
    runs.loc[3, "created"] = "2025-06-01T11:59:59+00:00"
    older = tables._replace(runs=runs)
    assert evaluate.verdicts("he2015", he2015["claim"], older, entries).iloc[0]["registration"] == "unregistered"


def test_the_claim_verb_writes_the_hash_and_status_into_verdict_and_claims_table(tmp_path):
    registry = tmp_path / "registry.yaml"
    registration.register("he2015", study_config.load(CONFIG), registry, tmp_path / "runs")
    study = write_study(tmp_path / "he2015", he_study(he_accuracy()))
    assert cli.main(["claim", f"--config={one_stage_config('he2015', tmp_path / 'configs')}", f"--tables-dir={study}", f"--out-dir={study}",
                     f"--registry={registry}"]) == 0
    verdict = pd.read_csv(study / paths.CLAIM_VERDICT)
    assert set(verdict["registration"]) == {"registered"}
    assert cli.main(["claims-table", f"--out={tmp_path / 'claims.csv'}", str(study / paths.CLAIM_VERDICT)]) == 0
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert claims.iloc[0]["registration"] == "registered"
    assert claims.iloc[0]["rules_hash"] == registration.read(registry)["he2015"]["hash"]


def test_the_committed_registry():
    """config/registry.yaml: one well-formed entry per claim it names, each a claim config."""
    entries = registration.read(REPO / paths.CLAIM_REGISTRY)
    assert entries, "no registered claim"
    for name, entry in entries.items():
        assert (REPO / paths.claim_config(name)).is_file(), name
        assert set(entry) == {"hash", "date", "commit", "status"} and len(entry["hash"]) == 64, name
        assert entry["status"] in ("registered", "registered after data"), name
        pd.Timestamp(entry["date"])
