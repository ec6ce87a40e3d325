"""DnsAlias: Route 53 alias records that point a name at a load balancer."""

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.errors import ComponentInputError
from components.tokens import type_token

# One DNS label: letters, digits and hyphens, 1 to 63 characters, no hyphen at either end
# (RFC 1035 section 2.3.1, as relaxed by RFC 1123 section 2.1 to allow a leading digit).
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_MAX_NAME_LENGTH = 253


def check_dns_name(component: str, argument: str, value: object) -> str:
    """Return `value` if it is a lowercase, fully qualified host name; raise otherwise.

    Accepted: `example.com`, `app.example.com`. Rejected: a scheme (`https://...`), a path,
    a port, a trailing dot, a wildcard, upper case, a single label, an all-numeric top-level
    label (so an IPv4 address is not taken for a name), and names over 253 characters.
    """
    allowed = (
        "expected a lowercase host name such as 'app.example.com': at least two labels of "
        "a-z, 0-9 and '-', at most 253 characters, without scheme, path, port, wildcard "
        "or trailing dot"
    )
    if not isinstance(value, str) or not value:
        raise ComponentInputError(component, argument, value, allowed)
    if "://" in value or "/" in value or ":" in value:
        raise ComponentInputError(component, argument, value, allowed + "; remove the scheme")
    if value.endswith("."):
        raise ComponentInputError(component, argument, value, allowed + "; drop the final '.'")
    if value != value.lower():
        raise ComponentInputError(component, argument, value, allowed + "; use lowercase")
    labels = value.split(".")
    if (
        len(value) > _MAX_NAME_LENGTH
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ComponentInputError(component, argument, value, allowed)
    return value


@dataclass(frozen=True, kw_only=True)
class DnsAliasArgs:
    """Arguments of `DnsAlias`."""

    hosted_zone_id: pulumi.Input[str]
    """Route 53 hosted zone that contains the record, the zone of `record_name`."""
    record_name: str
    """Fully qualified name to create, for example `app.example.com`; no trailing dot."""
    target_dns_name: pulumi.Input[str]
    """DNS name of the alias target, for example `HttpsAlb.dns_name`."""
    target_zone_id: pulumi.Input[str]
    """Canonical hosted zone id of the alias target itself (`HttpsAlb.zone_id`, the ALB's
    `zone_id` attribute). It is NOT `hosted_zone_id`: every region has one fixed zone id
    for its load balancers."""
    ipv6: bool = False
    """Default: only an A record. True adds an AAAA alias too; set it when the load balancer
    is dualstack, otherwise the AAAA record would resolve to nothing."""


class DnsAlias(pulumi.ComponentResource):
    """Alias records for one name.

    Creates `<name>-a` (type A) and, with `ipv6=True`, `<name>-aaaa` (type AAAA), both
    `aws.route53.Record` aliases with `evaluate_target_health=True`, so Route 53 stops
    returning a load balancer that has no healthy target. `allow_overwrite=False`: an
    existing record of the same name and type, created outside this stack, makes the
    deployment fail instead of being silently taken over.
    """

    fqdn: pulumi.Output[str]
    """Fully qualified name of the record, as Route 53 reports it."""

    def __init__(
        self, name: str, args: DnsAliasArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_dns_name("DnsAlias", "record_name", args.record_name)
        super().__init__(type_token("route53", "DnsAlias"), name, None, opts)

        record_types = ["A", "AAAA"] if args.ipv6 else ["A"]
        self.records = [
            aws.route53.Record(
                f"{name}-{record_type.lower()}",
                zone_id=args.hosted_zone_id,
                name=args.record_name,
                type=record_type,
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=args.target_dns_name,
                        zone_id=args.target_zone_id,
                        evaluate_target_health=True,
                    )
                ],
                allow_overwrite=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for record_type in record_types
        ]
        """The alias records: A first, then AAAA when `ipv6` is set."""

        self.fqdn = self.records[0].fqdn
        self.register_outputs({"fqdn": self.fqdn})
