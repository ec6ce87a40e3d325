"""RdsDatabase: one private, encrypted PostgreSQL instance for the web service.

Creates a DB subnet group, a parameter group that forces TLS, a security group with no
rules (FargateService adds the one ingress rule from the service's group) and the instance,
whose master password RDS keeps in Secrets Manager. Exposes a `ServiceAttachment` with the
connection settings and the exact secret the task execution role may read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.attachment import IngressGrant, ServiceAttachment
from components.errors import ComponentInputError
from components.tokens import type_token

COMPONENT = "RdsDatabase"
POSTGRES_PORT = 5432

# Major versions this component accepts, kept by hand: compare them with the RDS for
# PostgreSQL release calendar when a version enters or leaves standard support.
# The parameter group family follows the major version.
SUPPORTED_MAJOR_VERSIONS = ("14", "15", "16", "17")

# Master user names that RDS rejects or that collide with built-in roles; PostgreSQL also
# reserves role names that start with `pg_`.
RESERVED_USERNAMES = frozenset({"postgres", "admin", "root", "rdsadmin"})
RESERVED_USERNAME_PREFIX = "pg_"
RESERVED_DB_NAMES = frozenset({"postgres", "template0", "template1", "rdsadmin"})
IDENTIFIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
INSTANCE_CLASS_PATTERN = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")


def _hyphenated_pattern(max_length: int) -> re.Pattern[str]:
    """Return the pattern of an RDS identifier: lowercase letters, digits and single hyphens,
    starting with a letter and not ending with a hyphen."""
    return re.compile(rf"^(?!.*--)[a-z][a-z0-9-]{{0,{max_length - 1}}}(?<!-)$")


# The DB instance identifier is `<name>-db-<7 random characters>` and may have 63 characters.
COMPONENT_NAME_PATTERN = _hyphenated_pattern(40)
# The final snapshot identifier is `<prefix>-<8 hex>` and may have 255 characters.
SNAPSHOT_PREFIX_PATTERN = _hyphenated_pattern(200)


@dataclass(frozen=True, kw_only=True)
class RdsDatabaseArgs:
    """Settings of one PostgreSQL instance; the defaults are the production ones."""

    vpc_id: pulumi.Input[str]
    """VPC of the instance and its security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets for the DB subnet group, in at least two availability zones."""
    db_name: str = "app"
    """Database created with the instance. Default: `app`."""
    username: str = "app"
    """Master user name; RDS generates its password. Default: `app`."""
    engine_version: str = "16"
    """PostgreSQL major version; RDS picks the minor and upgrades it. Default: 16."""
    instance_class: str = "db.t4g.medium"
    """Instance class. Default: db.t4g.medium (2 vCPU, 4 GiB), enough for one small web app."""
    allocated_storage_gib: int = 20
    """Initial gp3 storage in GiB, 20 to 65536. Default: 20 GiB, the gp3 minimum."""
    max_allocated_storage_gib: int = 100
    """Storage autoscaling ceiling in GiB, at least the allocated size. Default: 100 GiB."""
    multi_az: bool = True
    """Keep a synchronous standby in a second zone. Default: on, so a zone outage fails over."""
    deletion_protection: bool = True
    """Reject deletion while on. Default: on, so `pulumi destroy` cannot drop production data."""
    backup_retention_days: int = 7
    """Days of automated backups, 1 to 35. Default: 7 days of point-in-time recovery."""
    slow_query_log_ms: int = 1000
    """`log_min_duration_statement` in ms, 100 to 60000, or -1 for off. Default: log
    statements slower than 1 s."""
    final_snapshot_prefix: str | None = None
    """Start of the final snapshot's identifier. Default: `<name>-final`."""


def _invalid(argument: str, value: object, allowed: str) -> ComponentInputError:
    return ComponentInputError(COMPONENT, argument, value, allowed)


def validate_args(name: str, args: RdsDatabaseArgs) -> None:
    """Raise `ComponentInputError` for the first invalid plain argument."""
    if not COMPONENT_NAME_PATTERN.match(name):
        raise _invalid(
            "name",
            name,
            "use 1 to 40 lowercase letters, digits and single hyphens, starting with a letter "
            "and not ending with a hyphen, because it becomes the DB instance identifier",
        )

    if not IDENTIFIER_PATTERN.match(args.db_name) or args.db_name in RESERVED_DB_NAMES:
        raise _invalid(
            "db_name",
            args.db_name,
            "use 1 to 63 lowercase letters, digits and underscores starting with a letter, "
            f"other than {sorted(RESERVED_DB_NAMES)}",
        )

    if (
        not IDENTIFIER_PATTERN.match(args.username)
        or args.username in RESERVED_USERNAMES
        or args.username.startswith(RESERVED_USERNAME_PREFIX)
    ):
        raise _invalid(
            "username",
            args.username,
            "use 1 to 63 lowercase letters, digits and underscores starting with a letter, "
            f"other than {sorted(RESERVED_USERNAMES)} and not starting with "
            f"{RESERVED_USERNAME_PREFIX!r}",
        )

    if args.engine_version not in SUPPORTED_MAJOR_VERSIONS:
        raise _invalid(
            "engine_version",
            args.engine_version,
            f"use a PostgreSQL major version in {list(SUPPORTED_MAJOR_VERSIONS)}, "
            "without a minor part (RDS chooses and upgrades the minor)",
        )

    if not INSTANCE_CLASS_PATTERN.match(args.instance_class):
        raise _invalid(
            "instance_class",
            args.instance_class,
            "use an RDS instance class such as 'db.t4g.medium' or 'db.m7g.large'",
        )

    if not 20 <= args.allocated_storage_gib <= 65536:
        raise _invalid(
            "allocated_storage_gib",
            args.allocated_storage_gib,
            "use 20 to 65536 GiB (the gp3 limits for PostgreSQL)",
        )

    if not args.allocated_storage_gib <= args.max_allocated_storage_gib <= 65536:
        raise _invalid(
            "max_allocated_storage_gib",
            args.max_allocated_storage_gib,
            f"use {args.allocated_storage_gib} (allocated_storage_gib) to 65536 GiB",
        )

    if not 1 <= args.backup_retention_days <= 35:
        raise _invalid(
            "backup_retention_days",
            args.backup_retention_days,
            "use 1 to 35 days; 0 would turn automated backups off",
        )

    if args.slow_query_log_ms != -1 and not 100 <= args.slow_query_log_ms <= 60000:
        raise _invalid(
            "slow_query_log_ms",
            args.slow_query_log_ms,
            "use 100 to 60000 ms, or -1 to turn slow query logging off",
        )

    if args.final_snapshot_prefix is not None and not SNAPSHOT_PREFIX_PATTERN.match(
        args.final_snapshot_prefix
    ):
        raise _invalid(
            "final_snapshot_prefix",
            args.final_snapshot_prefix,
            "use up to 200 lowercase letters, digits and single hyphens, starting with a letter "
            "and not ending with a hyphen",
        )

    if isinstance(args.subnet_ids, list | tuple):
        _check_subnet_count(args.subnet_ids)


def _check_subnet_count(subnet_ids: Sequence[object]) -> Sequence[object]:
    # RDS rejects a DB subnet group that does not cover at least two availability zones.
    if len(subnet_ids) < 2:
        raise _invalid(
            "subnet_ids",
            list(subnet_ids),
            "pass at least two private subnets in different availability zones",
        )
    return subnet_ids


def final_snapshot_identifier(name: str, prefix: str | None) -> str:
    """Return `<prefix>-<8 hex>`, stable for one project, stack and component name.

    The suffix keeps two stacks of the same project from choosing the same identifier.
    """
    digest = hashlib.sha256(
        f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}".encode()
    ).hexdigest()[:8]
    return f"{prefix or f'{name}-final'}-{digest}"


class RdsDatabase(pulumi.ComponentResource):
    """A private PostgreSQL instance with TLS forced and an RDS-managed master secret.

    Children: `<name>-subnets` (DB subnet group), `<name>-params` (parameter group),
    `<name>-sg` (security group without rules) and `<name>-db` (the instance).
    """

    endpoint_address: pulumi.Output[str]
    """Host name of the instance, without the port."""
    port: pulumi.Output[int]
    security_group_id: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    """ARN of the RDS-managed secret with the keys `username` and `password`."""
    database_name: pulumi.Output[str]
    instance_arn: pulumi.Output[str]
    attachment: ServiceAttachment

    def __init__(
        self, name: str, args: RdsDatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_args(name, args)
        super().__init__(type_token("rds", COMPONENT), name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        subnet_ids = args.subnet_ids
        if not isinstance(subnet_ids, list | tuple):
            subnet_ids = pulumi.Output.from_input(subnet_ids).apply(_check_subnet_count)
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            description=f"Private subnets of the {name} database",
            subnet_ids=subnet_ids,
            opts=child,
        )

        parameters = [
            # Reject unencrypted connections. RDS accepts pending-reboot for static and
            # dynamic parameters alike, and a new instance starts with the group anyway.
            aws.rds.ParameterGroupParameterArgs(
                name="rds.force_ssl", value="1", apply_method="pending-reboot"
            ),
            aws.rds.ParameterGroupParameterArgs(
                name="log_min_duration_statement",
                value=str(args.slow_query_log_ms),
                apply_method="immediate",
            ),
        ]
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{args.engine_version}",
            description=f"TLS-only settings of the {name} database",
            parameters=parameters,
            opts=child,
        )

        # No inline rules: FargateService adds the only ingress rule, from the service's group.
        # The provider also removes the allow-all egress rule AWS adds to a new group. The
        # database needs none, because security groups let replies to allowed traffic out.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"PostgreSQL {name}: ingress only from the web service",
            opts=child,
        )

        # NOTE: final snapshot identifiers are unique per account and region. If a snapshot
        # with this identifier is left from an earlier instance of the same stack, deleting
        # this one fails until that snapshot is deleted or final_snapshot_prefix changes.
        snapshot_id = final_snapshot_identifier(name, args.final_snapshot_prefix)

        instance = aws.rds.Instance(
            f"{name}-db",
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            db_name=args.db_name,
            username=args.username,
            # RDS generates the password and keeps it in Secrets Manager, encrypted with the
            # aws/secretsmanager key unless master_user_secret_kms_key_id is set, so the
            # execution role needs secretsmanager:GetSecretValue and no kms:Decrypt.
            # NOTE: RDS rotates this secret (every 7 days by default). ECS reads secrets only
            # when a task starts, so a task older than the last rotation opens new
            # connections with a stale password until it is replaced.
            manage_master_user_password=True,
            port=POSTGRES_PORT,
            # The ids of both groups are their names.
            db_subnet_group_name=subnet_group.id,
            parameter_group_name=parameter_group.id,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            storage_encrypted=True,
            storage_type="gp3",
            allocated_storage=args.allocated_storage_gib,
            max_allocated_storage=args.max_allocated_storage_gib,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=False,
            final_snapshot_identifier=snapshot_id,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            # NOTE: unverified for db.t4g.micro and db.t4g.small on PostgreSQL; RDS for MySQL
            # and MariaDB reject Performance Insights on those classes.
            performance_insights_enabled=True,
            auto_minor_version_upgrade=True,
            # Changes wait for the maintenance window instead of restarting the database
            # during a deploy.
            apply_immediately=False,
            opts=child,
        )

        self.endpoint_address = instance.address
        self.port = instance.port
        self.security_group_id = security_group.id
        self.secret_arn = instance.master_user_secrets.apply(_first_secret_arn)
        self.database_name = pulumi.Output.from_input(args.db_name)
        self.instance_arn = instance.arn
        self.attachment = ServiceAttachment(
            name="database",
            ingress=[
                IngressGrant(
                    security_group_id=security_group.id,
                    port=POSTGRES_PORT,
                    description=f"PostgreSQL {name} from the web service",
                )
            ],
            environment={
                "DATABASE_HOST": instance.address,
                "DATABASE_PORT": str(POSTGRES_PORT),
                "DATABASE_NAME": args.db_name,
                "DATABASE_SSLMODE": "verify-full",
            },
            secrets={
                # ECS reads one JSON key of a secret with the `ARN:json-key::` form.
                "DATABASE_USER": pulumi.Output.concat(self.secret_arn, ":username::"),
                "DATABASE_PASSWORD": pulumi.Output.concat(self.secret_arn, ":password::"),
            },
            secret_arns=[self.secret_arn],
        )
        self.register_outputs(
            {
                "endpoint_address": self.endpoint_address,
                "port": self.port,
                "security_group_id": self.security_group_id,
                "secret_arn": self.secret_arn,
                "database_name": self.database_name,
                "instance_arn": self.instance_arn,
            }
        )


def _first_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret]) -> str:
    # With manage_master_user_password, RDS reports exactly one secret.
    return secrets[0].secret_arn
