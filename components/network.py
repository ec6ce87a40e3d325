"""Network: a new VPC with public and private subnets, or an existing one described by ids."""

import ipaddress
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from components.errors import ComponentInputError
from components.tokens import type_token

COMPONENT = "Network"

# Resource ids are the prefix and 8 (older resources) or 17 lowercase hex digits.
_VPC_ID = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
_SUBNET_ID = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")

_NAT_STRATEGIES = {
    "single": awsx.ec2.NatGatewayStrategy.SINGLE,
    "one_per_az": awsx.ec2.NatGatewayStrategy.ONE_PER_AZ,
}

# The ranges RFC 1918 reserves for private networks; the VPC user guide recommends them.
_RFC1918 = tuple(
    ipaddress.IPv4Network(block) for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
# /16 is the largest block a VPC can have. The smallest allowed here is /24: each AZ gets a
# quarter (/26) at 3 AZs and is split in two, so every subnet is at least /27, the smallest
# subnet an Application Load Balancer accepts (ELB user guide, "Subnets for your load balancer").
_MIN_PREFIX, _MAX_PREFIX = 16, 24


@dataclass(frozen=True, kw_only=True)
class ExistingNetwork:
    """A VPC that already exists, with at least two public and two private subnets."""

    vpc_id: str
    """Id of the VPC, for example `vpc-0123456789abcdef0`."""
    public_subnet_ids: Sequence[str]
    """Subnets with a route to an internet gateway, in at least two AZs, for the load balancer."""
    private_subnet_ids: Sequence[str]
    """Subnets with outbound internet access through NAT, in at least two AZs, for the tasks."""


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Arguments of `Network`. The first three are ignored when `existing` is set."""

    cidr_block: str = "10.0.0.0/16"
    """IPv4 block of the new VPC, a private (RFC 1918) network from /16 to /24.
    Default: 10.0.0.0/16, which leaves room for every subnet the stack may add."""
    availability_zone_count: int = 2
    """Number of AZs, 2 or 3; each gets one public and one private subnet of equal size.
    Default: 2, the minimum an Application Load Balancer accepts."""
    nat_gateways: Literal["single", "one_per_az"] = "one_per_az"
    """`one_per_az` keeps each AZ's outbound traffic inside that AZ, so losing one AZ does not
    cut the others off. `single` costs one gateway instead of one per AZ. Default: one_per_az."""
    existing: ExistingNetwork | None = None
    """Use this VPC instead of creating one. Default: None, create a new VPC."""


def check_cidr_block(value: object) -> ipaddress.IPv4Network:
    """Return the parsed VPC block, or raise if it is not a private IPv4 network of /16 to /24."""
    allowed = (
        f"expected an IPv4 network in CIDR notation from /{_MIN_PREFIX} to /{_MAX_PREFIX} "
        "inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, for example '10.0.0.0/16'"
    )
    if not isinstance(value, str) or "/" not in value:
        raise ComponentInputError(COMPONENT, "cidr_block", value, allowed)
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError) as error:
        raise ComponentInputError(COMPONENT, "cidr_block", value, allowed) from error
    except ValueError as error:
        # strict=True rejects a block with host bits set, such as 10.0.0.1/16.
        raise ComponentInputError(
            COMPONENT, "cidr_block", value, allowed + "; clear the host bits"
        ) from error
    if not _MIN_PREFIX <= network.prefixlen <= _MAX_PREFIX:
        raise ComponentInputError(COMPONENT, "cidr_block", value, allowed)
    if not any(network.subnet_of(block) for block in _RFC1918):
        raise ComponentInputError(COMPONENT, "cidr_block", value, allowed)
    return network


def check_existing_network(existing: ExistingNetwork) -> None:
    """Raise unless the ids look like AWS ids and the subnet lists are usable."""
    if not isinstance(existing.vpc_id, str) or not _VPC_ID.match(existing.vpc_id):
        raise ComponentInputError(
            COMPONENT,
            "existing.vpc_id",
            existing.vpc_id,
            "expected a VPC id such as 'vpc-0123456789abcdef0'",
        )
    for argument, ids in (
        ("existing.public_subnet_ids", existing.public_subnet_ids),
        ("existing.private_subnet_ids", existing.private_subnet_ids),
    ):
        if isinstance(ids, str) or len(ids) < 2:
            raise ComponentInputError(
                COMPONENT,
                argument,
                ids,
                "expected a list of at least 2 subnet ids in different AZs, because the load "
                "balancer and the service each need two AZs",
            )
        bad = [i for i in ids if not isinstance(i, str) or not _SUBNET_ID.match(i)]
        if bad:
            raise ComponentInputError(
                COMPONENT,
                argument,
                ids,
                f"expected subnet ids such as 'subnet-0123456789abcdef0'; fix {bad}",
            )
        duplicates = sorted(i for i, count in Counter(ids).items() if count > 1)
        if duplicates:
            raise ComponentInputError(
                COMPONENT, argument, ids, f"expected each subnet once; remove {duplicates}"
            )
    both = sorted(set(existing.public_subnet_ids) & set(existing.private_subnet_ids))
    if both:
        raise ComponentInputError(
            COMPONENT,
            "existing.private_subnet_ids",
            existing.private_subnet_ids,
            f"a subnet is either public or private; {both} is in both lists",
        )


def validate_args(args: NetworkArgs) -> None:
    """Raise `ComponentInputError` for the first invalid plain argument."""
    check_cidr_block(args.cidr_block)
    if type(args.availability_zone_count) is not int or args.availability_zone_count not in (2, 3):
        raise ComponentInputError(
            COMPONENT,
            "availability_zone_count",
            args.availability_zone_count,
            "expected 2 or 3",
        )
    if args.nat_gateways not in _NAT_STRATEGIES:
        raise ComponentInputError(
            COMPONENT, "nat_gateways", args.nat_gateways, "expected 'single' or 'one_per_az'"
        )
    if args.existing is not None:
        check_existing_network(args.existing)


class Network(pulumi.ComponentResource):
    """The VPC the stack runs in.

    Creates, unless `existing` is set:
    - `<name>-vpc`: an `awsx.ec2.Vpc` with DNS support and DNS hostnames, one public and one
      private subnet of equal size in each of `availability_zone_count` AZs, an internet
      gateway, and NAT gateways per `nat_gateways`;
    - `<name>-default-sg`: the VPC's default security group, adopted with no rules, so
      anything placed in it by mistake can neither receive nor send traffic.
    With `existing`, it creates nothing and passes the given ids through.
    """

    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_args(args)
        super().__init__(type_token("ec2", COMPONENT), name, None, opts)

        self.vpc: awsx.ec2.Vpc | None = None
        """The new VPC; None when `existing` is set."""
        self.default_security_group: aws.ec2.DefaultSecurityGroup | None = None
        """The new VPC's emptied default security group; None when `existing` is set."""

        if args.existing is not None:
            self.vpc_id = pulumi.Output.from_input(args.existing.vpc_id)
            self.public_subnet_ids = pulumi.Output.from_input(list(args.existing.public_subnet_ids))
            self.private_subnet_ids = pulumi.Output.from_input(
                list(args.existing.private_subnet_ids)
            )
        else:
            self.vpc = awsx.ec2.Vpc(
                f"{name}-vpc",
                cidr_block=args.cidr_block,
                number_of_availability_zones=args.availability_zone_count,
                enable_dns_hostnames=True,
                enable_dns_support=True,
                # Auto splits the block evenly: one part per AZ, halved between the two
                # subnet specs below (awsx subnetDistributorNew.ts).
                subnet_strategy=awsx.ec2.SubnetAllocationStrategy.AUTO,
                subnet_specs=[
                    awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PUBLIC),
                    awsx.ec2.SubnetSpecArgs(type=awsx.ec2.SubnetType.PRIVATE),
                ],
                nat_gateways=awsx.ec2.NatGatewayConfigurationArgs(
                    strategy=_NAT_STRATEGIES[args.nat_gateways]
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            # Adopting the default group removes every rule it had, and the empty lists keep
            # it empty (Security Hub EC2.2: a default security group allows no traffic).
            self.default_security_group = aws.ec2.DefaultSecurityGroup(
                f"{name}-default-sg",
                vpc_id=self.vpc.vpc_id,
                ingress=[],
                egress=[],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.vpc_id = self.vpc.vpc_id
            self.public_subnet_ids = self.vpc.public_subnet_ids
            self.private_subnet_ids = self.vpc.private_subnet_ids

        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
            }
        )
