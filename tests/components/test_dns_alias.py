"""Unit tests of the DnsAlias component under the recording mocks."""

import pulumi_aws as aws
import pytest

from components.dns_alias import DnsAlias, DnsAliasArgs, check_dns_name
from components.errors import ComponentInputError
from tests.components.resolve import resolve
from tools.mock_runtime import ALB_ZONE_IDS, run

RECORD = "aws:route53/record:Record"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
COMPONENT = "webstack:route53:DnsAlias"
HOSTED_ZONE = "Z0123456789EXAMPLEZONE"


def build(record_name: str = "app.example.com", ipv6: bool = False) -> DnsAlias:
    """Create an ALB and an alias to it, wired the way `__main__.py` wires them."""
    box: list[DnsAlias] = []

    def program() -> None:
        alb = aws.lb.LoadBalancer("web-alb", load_balancer_type="application")
        box.append(
            DnsAlias(
                "web-dns",
                DnsAliasArgs(
                    hosted_zone_id=HOSTED_ZONE,
                    record_name=record_name,
                    target_dns_name=alb.dns_name,
                    target_zone_id=alb.zone_id,
                    ipv6=ipv6,
                ),
            )
        )

    run(program)
    return box[0]


def test_dns_alias_a_record_targets_the_alb(pulumi_mocks):
    build()

    alb = pulumi_mocks.find(LOAD_BALANCER, "web-alb").outputs
    record = pulumi_mocks.find(RECORD, "web-dns-a").inputs
    assert record["type"] == "A"
    assert record["name"] == "app.example.com"
    assert record["aliases"] == [
        {"name": alb["dnsName"], "zoneId": alb["zoneId"], "evaluateTargetHealth": True}
    ]


def test_dns_alias_zone_ids_are_not_swapped(pulumi_mocks):
    build()

    record = pulumi_mocks.find(RECORD, "web-dns-a").inputs
    alb_zone = pulumi_mocks.find(LOAD_BALANCER, "web-alb").outputs["zoneId"]
    assert record["zoneId"] == HOSTED_ZONE
    assert record["aliases"][0]["zoneId"] == alb_zone == ALB_ZONE_IDS["us-east-1"]
    assert record["zoneId"] != record["aliases"][0]["zoneId"]


def test_dns_alias_does_not_overwrite_records(pulumi_mocks):
    build()

    assert pulumi_mocks.find(RECORD, "web-dns-a").inputs["allowOverwrite"] is False
    assert "ttl" not in pulumi_mocks.find(RECORD, "web-dns-a").inputs


def test_dns_alias_ipv4_only_by_default(pulumi_mocks):
    build()

    assert [r.name for r in pulumi_mocks.of_type(RECORD)] == ["web-dns-a"]


def test_dns_alias_ipv6_adds_aaaa_record(pulumi_mocks):
    build(ipv6=True)

    a = pulumi_mocks.find(RECORD, "web-dns-a").inputs
    aaaa = pulumi_mocks.find(RECORD, "web-dns-aaaa").inputs
    assert aaaa["type"] == "AAAA"
    assert aaaa["name"] == a["name"]
    assert aaaa["zoneId"] == HOSTED_ZONE
    assert aaaa["aliases"] == a["aliases"]
    assert aaaa["allowOverwrite"] is False


def test_dns_alias_records_are_children(pulumi_mocks):
    build(ipv6=True)

    children = {r.name for r in pulumi_mocks.children_of(COMPONENT, "web-dns")}
    assert children == {"web-dns-a", "web-dns-aaaa"}


def test_dns_alias_fqdn_output(pulumi_mocks):
    alias = build()

    assert resolve(alias.fqdn) == "app.example.com"


def test_dns_alias_rejects_invalid_record_name(pulumi_mocks):
    with pytest.raises(ComponentInputError, match=r"DnsAlias: invalid record_name='https://x"):
        build(record_name="https://x.example.com")

    assert pulumi_mocks.of_type(RECORD) == []


# -- check_dns_name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "example.com",
        "app.example.com",
        "a-b.c0.example.co.uk",
        "x" * 63 + ".com",
        "1.example.com",
        ("a" * 63 + ".") * 3 + "a" * 61,
    ],
)
def test_dns_name_accepts_host_names(name):
    assert check_dns_name("C", "arg", name) == name


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("https://app.example.com", "remove the scheme"),
        ("app.example.com/path", "remove the scheme"),
        ("app.example.com:443", "remove the scheme"),
        ("app.example.com.", "drop the final '.'"),
        ("App.Example.com", "use lowercase"),
        ("localhost", "at least two labels"),
        ("*.example.com", "at least two labels"),
        ("-app.example.com", "at least two labels"),
        ("app-.example.com", "at least two labels"),
        ("app..example.com", "at least two labels"),
        ("app_1.example.com", "at least two labels"),
        ("x" * 64 + ".com", "at least two labels"),
        (("a" * 63 + ".") * 3 + "a" * 62, "at most 253"),
        ("10.0.0.1", "at least two labels"),
        ("", "at least two labels"),
        (None, "at least two labels"),
    ],
)
def test_dns_name_rejects_invalid(name, hint):
    with pytest.raises(ComponentInputError, match=hint) as error:
        check_dns_name("HttpsAlb", "domain_name", name)

    assert error.value.component == "HttpsAlb"
    assert error.value.argument == "domain_name"
    assert error.value.value == name
