"""HttpsAlb: an internet-facing Application Load Balancer that serves one domain over HTTPS."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.dns_alias import check_dns_name
from components.errors import ComponentInputError
from components.tls_policies import ALLOWED_SSL_POLICIES, DEFAULT_SSL_POLICY
from components.tokens import type_token

COMPONENT = "HttpsAlb"

# Load balancer names have at most 32 characters (ELB API reference, CreateLoadBalancer).
# The ALB is auto-named `<name>-alb-<7 random characters>`, 8 + 4 characters more than
# `name`, so `name` may have 20. Names are letters, digits and hyphens, without a hyphen at
# either end and not starting with `internal-`.
_MAX_NAME_LENGTH = 20
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
# Target groups are named from a prefix of at most 6 characters plus 26 generated ones, so
# a replacement target group can exist beside the old one while the listener moves over.
_TARGET_GROUP_PREFIX_LENGTH = 6
_MAX_HEALTH_CHECK_PATH_LENGTH = 1024
IP_ADDRESS_TYPES = ("ipv4", "dualstack")


@dataclass(frozen=True, kw_only=True)
class HttpsAlbArgs:
    """Arguments of `HttpsAlb`."""

    vpc_id: pulumi.Input[str]
    """VPC of the load balancer's security group and of the target group."""
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Public subnets in at least two AZs, each /27 or larger."""
    domain_name: str
    """Host name served, for example `app.example.com`; the certificate is issued for it."""
    hosted_zone_id: pulumi.Input[str]
    """Route 53 public hosted zone of `domain_name`, where the validation record goes."""
    target_port: int
    """Port the containers listen on, 1 to 65535; the target group sends traffic there."""
    health_check_path: str = "/api/health"
    """Path the load balancer requests every 10 s; only a 200 response counts as healthy.
    Default: /api/health."""
    ssl_policy: str = DEFAULT_SSL_POLICY
    """TLS policy of the HTTPS listener, one of `tls_policies.ALLOWED_SSL_POLICIES`.
    Default: ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09 (TLS 1.3 and 1.2)."""
    deletion_protection: bool = True
    """Reject deletion of the load balancer while on. Default: on, so `pulumi destroy`
    fails until a stack sets it off and deploys once."""
    idle_timeout_seconds: int = 60
    """Seconds a connection may stay idle, 1 to 4000. Default: 60 s, the AWS default."""
    deregistration_delay_seconds: int = 30
    """Seconds a deregistered task keeps its open requests, 0 to 3600. Default: 30 s, so a
    rolling deploy drains quickly (the AWS default is 300 s)."""
    ip_address_type: Literal["ipv4", "dualstack"] = "ipv4"
    """`dualstack` also accepts IPv6 clients; the subnets then need IPv6 blocks. Default: ipv4."""


def _invalid(argument: str, value: object, allowed: str) -> ComponentInputError:
    return ComponentInputError(COMPONENT, argument, value, allowed)


def _check_int(argument: str, value: object, low: int, high: int) -> None:
    if type(value) is not int or not low <= value <= high:
        raise _invalid(argument, value, f"expected a whole number from {low} to {high}")


def validate_args(name: str, args: HttpsAlbArgs) -> None:
    """Raise `ComponentInputError` for the first invalid plain argument."""
    if (
        not isinstance(name, str)
        or not _NAME.match(name)
        or len(name) > _MAX_NAME_LENGTH
        or name.lower().startswith("internal-")
    ):
        raise _invalid(
            "name",
            name,
            f"expected 1 to {_MAX_NAME_LENGTH} letters, digits and hyphens, without a hyphen "
            "at either end and not starting with 'internal-', because the load balancer "
            "name '<name>-alb-<7 characters>' may have at most 32",
        )
    check_dns_name(COMPONENT, "domain_name", args.domain_name)
    _check_int("target_port", args.target_port, 1, 65535)
    path = args.health_check_path
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or len(path) > _MAX_HEALTH_CHECK_PATH_LENGTH
        or any(char.isspace() for char in path)
    ):
        raise _invalid(
            "health_check_path",
            path,
            f"expected a path starting with '/', without spaces, at most "
            f"{_MAX_HEALTH_CHECK_PATH_LENGTH} characters, for example '/api/health'",
        )
    if args.ssl_policy not in ALLOWED_SSL_POLICIES:
        raise _invalid(
            "ssl_policy",
            args.ssl_policy,
            f"expected one of {sorted(ALLOWED_SSL_POLICIES)} (Security Hub ELB.17); "
            f"the default is {DEFAULT_SSL_POLICY}",
        )
    if not isinstance(args.deletion_protection, bool):
        raise _invalid("deletion_protection", args.deletion_protection, "expected True or False")
    _check_int("idle_timeout_seconds", args.idle_timeout_seconds, 1, 4000)
    _check_int("deregistration_delay_seconds", args.deregistration_delay_seconds, 0, 3600)
    if args.ip_address_type not in IP_ADDRESS_TYPES:
        raise _invalid(
            "ip_address_type", args.ip_address_type, f"expected one of {IP_ADDRESS_TYPES}"
        )


def target_group_name_prefix(name: str) -> str:
    """Return the target group's name prefix: up to 5 characters of `name` and a hyphen."""
    return name[: _TARGET_GROUP_PREFIX_LENGTH - 1].rstrip("-") + "-"


def _validation_option(
    options: Sequence[aws.acm.outputs.CertificateDomainValidationOption], domain_name: str
) -> aws.acm.outputs.CertificateDomainValidationOption:
    """Return the DNS validation record ACM expects for `domain_name`."""
    for option in options:
        if option.domain_name == domain_name:
            return option
    raise _invalid(
        "domain_name",
        domain_name,
        f"ACM returned no DNS validation record for it (it returned "
        f"{sorted(str(o.domain_name) for o in options)}); check the certificate in ACM",
    )


class HttpsAlb(pulumi.ComponentResource):
    """The public entry point of the service.

    Creates:
    - `<name>-sg`: the load balancer's security group, with the ingress rules
      `<name>-sg-{http,https}-{ipv4,ipv6}` (ports 80 and 443 from 0.0.0.0/0 and ::/0) and no
      egress: FargateService adds the one egress rule, to the service on its port;
    - `<name>-cert`: an ACM certificate for `domain_name`, validated by DNS through the
      record `<name>-validation-<domain_name>` and `<name>-cert-validation`;
    - `<name>-alb`: the internet-facing Application Load Balancer in the public subnets;
    - `<name>-tg`: an `ip` target group for Fargate tasks on `target_port`;
    - `<name>-https`: the port 443 listener, forwarding to the target group with the
      validated certificate, and `<name>-http`: port 80, redirecting to HTTPS with a 301.
    """

    load_balancer_arn: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str]
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    """The load balancer's canonical hosted zone id, the zone id of a Route 53 alias to it."""
    security_group_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    https_listener_arn: pulumi.Output[str]
    certificate_arn: pulumi.Output[str]
    """ARN of the certificate, known only once ACM has issued it."""

    def __init__(
        self, name: str, args: HttpsAlbArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_args(name, args)
        super().__init__(type_token("lb", COMPONENT), name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Rules as separate resources and none inline: the provider documents that inline
        # rules and rule resources on one group overwrite each other, and FargateService
        # adds its egress rule to this group as a resource.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Load balancer: HTTP and HTTPS from the internet",
            opts=child,
        )
        for port, protocol in ((80, "http"), (443, "https")):
            for family, cidr in (("ipv4", "0.0.0.0/0"), ("ipv6", "::/0")):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-sg-{protocol}-{family}",
                    security_group_id=self.security_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr if family == "ipv4" else None,
                    cidr_ipv6=cidr if family == "ipv6" else None,
                    description=f"{protocol.upper()} from the internet ({family})",
                    opts=child,
                )

        self.certificate = aws.acm.Certificate(
            f"{name}-cert",
            domain_name=args.domain_name,
            validation_method="DNS",
            opts=child,
        )
        option = self.certificate.domain_validation_options.apply(
            lambda options: _validation_option(options, args.domain_name)
        )
        # The record is keyed by the domain, not by its position in the option list. ACM
        # expects the same record for every certificate of a domain in an account, so a
        # replacement certificate reuses it. allow_overwrite=False rejects a record that
        # another stack created.
        validation_record = aws.route53.Record(
            f"{name}-validation-{args.domain_name}",
            zone_id=args.hosted_zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=60,
            allow_overwrite=False,
            opts=child,
        )
        self.certificate_validation = aws.acm.CertificateValidation(
            f"{name}-cert-validation",
            certificate_arn=self.certificate.arn,
            validation_record_fqdns=[validation_record.fqdn],
            opts=child,
        )

        # NOTE: access logs (Security Hub ELB.5) are off: they need an S3 bucket whose policy
        # lets the regional ELB account write, which this component does not create.
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            ip_address_type=args.ip_address_type,
            subnets=args.public_subnet_ids,
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True,
            # Both "defensive" (the AWS default) and "strictest" pass Security Hub ELB.12.
            # Defensive blocks "severe" requests and closes the target connection after
            # "ambiguous" ones; strictest also blocks those and "acceptable" ones, which
            # some legitimate clients send.
            desync_mitigation_mode="defensive",
            enable_deletion_protection=args.deletion_protection,
            idle_timeout=args.idle_timeout_seconds,
            opts=child,
        )
        """The load balancer; the main child."""

        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            name_prefix=target_group_name_prefix(name),
            target_type="ip",
            protocol="HTTP",
            port=args.target_port,
            vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=args.health_check_path,
                matcher="200",
                interval=10,
                timeout=5,
                healthy_threshold=2,
                unhealthy_threshold=3,
            ),
            # Create the new group before deleting the old one (the Pulumi default, stated
            # because it matters): AWS refuses to delete a group a listener still forwards to.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )

        self.https_listener = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=args.ssl_policy,
            # The validation's ARN, not the certificate's, so the listener waits until ACM
            # has issued the certificate.
            certificate_arn=self.certificate_validation.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="forward", target_group_arn=self.target_group.arn
                )
            ],
            opts=child,
        )
        self.http_listener = aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            opts=child,
        )

        self.load_balancer_arn = self.load_balancer.arn
        self.load_balancer_arn_suffix = self.load_balancer.arn_suffix
        self.dns_name = self.load_balancer.dns_name
        self.zone_id = self.load_balancer.zone_id
        self.security_group_id = self.security_group.id
        self.target_group_arn = self.target_group.arn
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.https_listener_arn = self.https_listener.arn
        self.certificate_arn = self.certificate_validation.certificate_arn
        self.register_outputs(
            {
                "load_balancer_arn": self.load_balancer_arn,
                "load_balancer_arn_suffix": self.load_balancer_arn_suffix,
                "dns_name": self.dns_name,
                "zone_id": self.zone_id,
                "security_group_id": self.security_group_id,
                "target_group_arn": self.target_group_arn,
                "target_group_arn_suffix": self.target_group_arn_suffix,
                "https_listener_arn": self.https_listener_arn,
                "certificate_arn": self.certificate_arn,
            }
        )
