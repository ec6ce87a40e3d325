"""The relaxations format: which rules a stack file may relax, with a reason, never in prod."""

import pytest

from policy.evaluate import rule_ids
from policy.relaxations import RELAXABLE_RULES, RelaxationError, read_relaxations


def stack_file(relaxations):
    return {"config": {"aws:region": "us-east-1", "webstack:relaxations": relaxations}}


def test_relaxations_read_with_reasons():
    document = stack_file({"rds-multi-az": "  staging tolerates an hour of downtime  "})
    assert read_relaxations(document, "staging", "Pulumi.staging.yaml") == {
        "rds-multi-az": "staging tolerates an hour of downtime"}


def test_missing_key_relaxes_nothing():
    assert read_relaxations({"config": {"aws:region": "us-east-1"}}, "staging", "f") == {}
    assert read_relaxations({}, "staging", "f") == {}


def test_unknown_rule_rejected():
    with pytest.raises(RelaxationError) as error:
        read_relaxations(stack_file({"rds-not-public": "demo"}), "staging",
                         "Pulumi.staging.yaml")
    assert str(error.value) == (
        "Pulumi.staging.yaml: webstack:relaxations names 'rds-not-public', which is not a "
        "relaxable rule; allowed: alb-deletion-protection, cache-failover, "
        "logs-long-retention, rds-backup-retention, rds-deletion-protection, "
        "rds-final-snapshot, rds-multi-az")


@pytest.mark.parametrize("reason", ["", "   ", "ok", None, 3])
def test_empty_or_short_reason_rejected(reason):
    with pytest.raises(RelaxationError, match=r"webstack:relaxations\.rds-multi-az has reason"):
        read_relaxations(stack_file({"rds-multi-az": reason}), "staging", "Pulumi.staging.yaml")


def test_prod_may_not_relax():
    with pytest.raises(RelaxationError) as error:
        read_relaxations(stack_file({"rds-multi-az": "saves money in prod"}), "prod",
                         "Pulumi.prod.yaml")
    assert str(error.value) == (
        "Pulumi.prod.yaml: webstack:relaxations relaxes ['rds-multi-az'] in the production "
        "stack prod, which must keep every rule; remove the key from its stack file")


def test_second_production_region_may_not_relax():
    with pytest.raises(RelaxationError, match=r"in the production stack prod-eu, "):
        read_relaxations(stack_file({"rds-multi-az": "saves money in prod"}), "prod-eu",
                         "Pulumi.prod-eu.yaml")


def test_non_mapping_rejected():
    with pytest.raises(RelaxationError, match="must be a mapping of rule id to reason"):
        read_relaxations(stack_file(["rds-multi-az"]), "staging", "Pulumi.staging.yaml")


def test_relaxable_rules_exist():
    assert set(RELAXABLE_RULES) <= set(rule_ids())
