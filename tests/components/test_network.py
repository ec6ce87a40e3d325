"""Unit tests of the Network component under the recording mocks."""

import pulumi_awsx as awsx
import pytest

from components.errors import ComponentInputError
from components.network import ExistingNetwork, Network, NetworkArgs, check_cidr_block
from tests.components.resolve import resolve
from tools.mock_runtime import run

VPC = "awsx:ec2:Vpc"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
COMPONENT = "webstack:ec2:Network"

EXISTING = ExistingNetwork(
    vpc_id="vpc-0123456789abcdef0",
    public_subnet_ids=["subnet-0000000000000000a", "subnet-0000000000000000b"],
    private_subnet_ids=["subnet-0000000000000000c", "subnet-0000000000000000d"],
)


def build(args: NetworkArgs) -> Network:
    box: list[Network] = []
    run(lambda: box.append(Network("net", args)))
    return box[0]


# -- a new VPC ---------------------------------------------------------------------------------


def test_network_vpc_dns_and_subnets(pulumi_mocks):
    build(NetworkArgs(cidr_block="10.20.0.0/16", availability_zone_count=3))

    inputs = pulumi_mocks.find(VPC, "net-vpc").inputs
    assert inputs["cidrBlock"] == "10.20.0.0/16"
    assert inputs["numberOfAvailabilityZones"] == 3
    assert inputs["enableDnsHostnames"] is True
    assert inputs["enableDnsSupport"] is True
    assert inputs["subnetStrategy"] == "Auto"
    assert [spec["type"] for spec in inputs["subnetSpecs"]] == ["Public", "Private"]
    assert all("cidrMask" not in spec for spec in inputs["subnetSpecs"])


@pytest.mark.parametrize(
    ("setting", "strategy"),
    [
        ("single", awsx.ec2.NatGatewayStrategy.SINGLE.value),
        ("one_per_az", awsx.ec2.NatGatewayStrategy.ONE_PER_AZ.value),
    ],
)
def test_network_maps_nat_gateway_setting(pulumi_mocks, setting, strategy):
    build(NetworkArgs(nat_gateways=setting))

    assert pulumi_mocks.find(VPC, "net-vpc").inputs["natGateways"] == {"strategy": strategy}


def test_network_defaults_to_one_nat_per_az(pulumi_mocks):
    build(NetworkArgs())

    inputs = pulumi_mocks.find(VPC, "net-vpc").inputs
    assert inputs["natGateways"] == {"strategy": "OnePerAz"}
    assert inputs["numberOfAvailabilityZones"] == 2
    assert inputs["cidrBlock"] == "10.0.0.0/16"


def test_network_empties_default_security_group(pulumi_mocks):
    build(NetworkArgs())

    sg = pulumi_mocks.find(DEFAULT_SG, "net-default-sg")
    vpc = pulumi_mocks.find(VPC, "net-vpc")
    assert sg.inputs["vpcId"] == vpc.outputs["vpcId"]
    assert sg.inputs.get("ingress", []) == []
    assert sg.inputs.get("egress", []) == []


def test_network_outputs_come_from_the_vpc(pulumi_mocks):
    network = build(NetworkArgs())

    vpc = pulumi_mocks.find(VPC, "net-vpc").outputs
    assert resolve(network.vpc_id) == vpc["vpcId"]
    assert resolve(network.public_subnet_ids) == vpc["publicSubnetIds"]
    assert resolve(network.private_subnet_ids) == vpc["privateSubnetIds"]


def test_network_children_have_the_component_as_parent(pulumi_mocks):
    build(NetworkArgs())

    children = {(r.type, r.name) for r in pulumi_mocks.children_of(COMPONENT, "net")}
    assert children == {(VPC, "net-vpc"), (DEFAULT_SG, "net-default-sg")}


# -- an existing VPC ---------------------------------------------------------------------------


def test_network_existing_creates_nothing(pulumi_mocks):
    build(NetworkArgs(existing=EXISTING))

    assert [(r.type, r.name) for r in pulumi_mocks.records] == [(COMPONENT, "net")]


def test_network_existing_passes_ids_through(pulumi_mocks):
    network = build(NetworkArgs(existing=EXISTING))

    assert resolve(network.vpc_id) == EXISTING.vpc_id
    assert resolve(network.public_subnet_ids) == list(EXISTING.public_subnet_ids)
    assert resolve(network.private_subnet_ids) == list(EXISTING.private_subnet_ids)
    assert network.vpc is None


@pytest.mark.parametrize(
    ("existing", "message"),
    [
        (
            ExistingNetwork(
                vpc_id="vpc-12",
                public_subnet_ids=EXISTING.public_subnet_ids,
                private_subnet_ids=EXISTING.private_subnet_ids,
            ),
            r"existing\.vpc_id='vpc-12'; expected a VPC id",
        ),
        (
            ExistingNetwork(
                vpc_id=EXISTING.vpc_id,
                public_subnet_ids=["subnet-0000000000000000a"],
                private_subnet_ids=EXISTING.private_subnet_ids,
            ),
            r"existing\.public_subnet_ids=.*at least 2 subnet ids",
        ),
        (
            ExistingNetwork(
                vpc_id=EXISTING.vpc_id,
                public_subnet_ids=EXISTING.public_subnet_ids,
                private_subnet_ids="subnet-0000000000000000c",
            ),
            r"existing\.private_subnet_ids=.*at least 2 subnet ids",
        ),
        (
            ExistingNetwork(
                vpc_id=EXISTING.vpc_id,
                public_subnet_ids=["subnet-0000000000000000a", "sg-0000000000000000b"],
                private_subnet_ids=EXISTING.private_subnet_ids,
            ),
            r"fix \['sg-0000000000000000b'\]",
        ),
        (
            ExistingNetwork(
                vpc_id=EXISTING.vpc_id,
                public_subnet_ids=["subnet-0000000000000000a", "subnet-0000000000000000a"],
                private_subnet_ids=EXISTING.private_subnet_ids,
            ),
            r"each subnet once; remove \['subnet-0000000000000000a'\]",
        ),
        (
            ExistingNetwork(
                vpc_id=EXISTING.vpc_id,
                public_subnet_ids=EXISTING.public_subnet_ids,
                private_subnet_ids=["subnet-0000000000000000b", "subnet-0000000000000000c"],
            ),
            r"either public or private; \['subnet-0000000000000000b'\] is in both",
        ),
    ],
)
def test_network_rejects_invalid_existing(pulumi_mocks, existing, message):
    with pytest.raises(ComponentInputError, match=message):
        build(NetworkArgs(existing=existing))

    assert pulumi_mocks.records == []


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.16.0.0/20", "192.168.1.0/24"])
def test_cidr_block_accepts_private_16_to_24(cidr):
    assert str(check_cidr_block(cidr)) == cidr


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.0.0/15", "from /16 to /24"),
        ("10.0.0.0/25", "from /16 to /24"),
        ("10.0.0.1/16", "clear the host bits"),
        ("10.0.0.0", "CIDR notation"),
        ("8.8.0.0/16", "inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"),
        ("172.32.0.0/16", "inside 10.0.0.0/8"),
        ("fd00::/48", "IPv4 network"),
        ("10.0.0.0/abc", "IPv4 network"),
        (167772160, "IPv4 network"),
    ],
)
def test_cidr_block_rejects_invalid(cidr, message):
    with pytest.raises(ComponentInputError, match=message) as error:
        check_cidr_block(cidr)

    assert error.value.argument == "cidr_block"


@pytest.mark.parametrize("count", [1, 4, True, 2.0])
def test_network_rejects_az_count_outside_2_to_3(pulumi_mocks, count):
    with pytest.raises(ComponentInputError, match=r"availability_zone_count=.*expected 2 or 3"):
        build(NetworkArgs(availability_zone_count=count))


def test_network_rejects_unknown_nat_setting(pulumi_mocks):
    with pytest.raises(ComponentInputError, match=r"nat_gateways='none'; expected 'single'"):
        build(NetworkArgs(nat_gateways="none"))
