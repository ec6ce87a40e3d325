"""Turn one stack's raw configuration into `StackSettings`, before any resource exists.

`load` is pure: it takes the configuration map (`"webstack:service"` -> value) and the
stack file's name, and raises `SettingsError` naming the file, the key, the value received
and what is allowed. `__main__.py` and the offline plan call it first, so a bad value never
leaves a half-declared stack.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from typing import Any

from components.log_retention import LOG_RETENTION_DAYS
from components.rds_database import (
    RESERVED_DB_NAMES,
    RESERVED_USERNAME_PREFIX,
    RESERVED_USERNAMES,
    SUPPORTED_MAJOR_VERSIONS,
)
from components.redis_cache import SUPPORTED_VERSIONS
from policy.relaxations import RelaxationError, parse_relaxations
from settings.model import (
    ActivityLogSettings,
    AppSettings,
    CacheSettings,
    DatabaseSettings,
    ImageSettings,
    LoadBalancerSettings,
    NetworkSettings,
    ServiceSettings,
    StackSettings,
)
from settings.reader import SectionReader, SettingsError

PROJECT = "webstack"

# Top-level keys of the `webstack:` namespace; `openaiApiKey` is a secret and never read here.
SECTION_KEYS = (
    "domainName",
    "hostedZoneName",
    "network",
    "image",
    "service",
    "app",
    "loadBalancer",
    "database",
    "cache",
    "activityLog",
    "relaxations",
    "holdServiceTaskDefinition",
)
SECRET_KEYS = ("openaiApiKey",)

DNS_NAME = r"(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}"
REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"
SUBNET_ID = r"subnet-[0-9a-f]{8,17}"
VPC_ID = r"vpc-[0-9a-f]{8,17}"
IMAGE_DIGEST_URI = r"[a-z0-9.-]+(:\d+)?/[a-z0-9._/-]+@sha256:[0-9a-f]{64}"
S3_BUCKET = r"(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
GIT_SHA = r"[0-9a-f]{7,40}"

# Tables owned by the components, so the settings accept exactly what they accept.
POSTGRES_MAJOR_VERSIONS = SUPPORTED_MAJOR_VERSIONS
REDIS_ENGINE_VERSIONS = SUPPORTED_VERSIONS["redis"]


def stack_file_name(stack: str) -> str:
    """The file the Pulumi CLI reads a stack's configuration from by default."""
    return f"Pulumi.{stack}.yaml"


def parse_value(value: Any) -> Any:
    """Decode a config value: the CLI passes objects and lists as JSON strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def resolve_commit_sha(environ: Mapping[str, str] | None = None) -> str:
    """The commit the image is tagged with: COMMIT_SHA, then BITBUCKET_COMMIT, then git.

    Returns an empty string when none is available; `load` rejects that in build mode.
    """
    env = os.environ if environ is None else environ
    for name in ("COMMIT_SHA", "BITBUCKET_COMMIT"):
        if env.get(name):
            return env[name].strip().lower()
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()


def load(
    stack: str,
    config: Mapping[str, Any],
    source: str | None = None,
    commit_sha: str | None = None,
) -> StackSettings:
    """Validate a stack's configuration map and return its settings.

    `config` maps full keys (`aws:region`, `webstack:service`) to values as the CLI passes
    them; `source` defaults to `Pulumi.<stack>.yaml`. Raises `SettingsError`.
    """
    source = source or stack_file_name(stack)
    values = {key: parse_value(value) for key, value in config.items()}

    own = {k.split(":", 1)[1]: v for k, v in values.items() if k.startswith(f"{PROJECT}:")}
    unknown = sorted(set(own) - set(SECTION_KEYS) - set(SECRET_KEYS))
    if unknown:
        raise SettingsError(
            f"{source}: unknown key {PROJECT}:{unknown[0]}. Allowed keys: "
            + ", ".join(f"{PROJECT}:{k}" for k in (*SECTION_KEYS, *SECRET_KEYS))
            + "."
        )
    sections = {k: v for k, v in own.items() if k in SECTION_KEYS}
    root = SectionReader(source, PROJECT, sections, separator=":")

    region = values.get("aws:region")
    if not isinstance(region, str) or not re.fullmatch(REGION, region):
        raise SettingsError(
            f"{source}: invalid value for aws:region: {region!r}. "
            "Allowed: an AWS region name such as us-east-1 or eu-west-1."
        )

    domain = root.string(
        "domainName", pattern=DNS_NAME, hint="a lower-case DNS name without scheme or trailing dot"
    )
    zone = root.string(
        "hostedZoneName",
        pattern=DNS_NAME,
        hint="the public Route 53 hosted zone name, e.g. example.com",
    )
    if domain != zone and not domain.endswith("." + zone):
        raise root.fail("domainName", domain, f"a name inside the hosted zone {zone}")

    if commit_sha is None:
        commit_sha = resolve_commit_sha()
    settings = StackSettings(
        stack=stack,
        source=source,
        region=region,
        domain_name=domain,
        hosted_zone_name=zone,
        network=_network(root.section("network")),
        image=_image(root.section("image"), commit_sha),
        service=_service(root.section("service")),
        app=_app(root.section("app")),
        load_balancer=_load_balancer(root.section("loadBalancer")),
        database=_database(root.section("database")),
        cache=_cache(root.section("cache")),
        activity_log=_activity_log(root.section("activityLog")),
        relaxations=_relaxations(root, own.get("relaxations"), stack),
        hold_service_task_definition=root.boolean("holdServiceTaskDefinition", False),
        openai_api_key_set=own.get("openaiApiKey") not in (None, ""),
    )
    root.finish()
    if not settings.app.use_local_llm and not settings.openai_api_key_set:
        raise SettingsError(
            f"{source}: missing required secret {PROJECT}:openaiApiKey while "
            f"{PROJECT}:app.useLocalLlm is false. Set it with "
            f"`pulumi config set --secret openaiApiKey --stack {stack}`, "
            f"or set {PROJECT}:app.useLocalLlm to true."
        )
    return settings


def _network(r: SectionReader) -> NetworkSettings:
    mode = r.string("mode", "create", allowed=("create", "existing"))
    if mode == "existing":
        vpc_id = r.string("vpcId", pattern=VPC_ID, hint="a VPC id such as vpc-0abc12345def67890")
        public = r.string_list(
            "publicSubnetIds",
            item_pattern=SUBNET_ID,
            minimum=2,
            hint="subnet ids (subnet-...) in different AZs",
        )
        private = r.string_list(
            "privateSubnetIds",
            item_pattern=SUBNET_ID,
            minimum=2,
            hint="subnet ids (subnet-...) in different AZs",
        )
        overlap = sorted(set(public) & set(private))
        if overlap:
            raise r.fail(
                "privateSubnetIds",
                private,
                f"subnets that are not also public ({overlap[0]} is in both lists)",
            )
        r.finish()
        return NetworkSettings(
            mode="existing",
            vpc_id=vpc_id,
            public_subnet_ids=tuple(public),
            private_subnet_ids=tuple(private),
        )
    cidr = r.string(
        "cidrBlock",
        "10.0.0.0/16",
        pattern=r"(10|172|192)\.\d{1,3}\.\d{1,3}\.\d{1,3}/(1[6-9]|2[0-4])",
        hint="a private IPv4 CIDR block from /16 to /24, e.g. 10.20.0.0/16",
    )
    settings = NetworkSettings(
        mode="create",
        cidr_block=cidr,
        availability_zones=r.integer("availabilityZones", 2, minimum=2, maximum=3),
        nat_gateways=r.string(
            "natGateways",
            "one_per_az",  # type: ignore[arg-type]
            allowed=("single", "one_per_az"),
        ),
    )
    r.finish()
    return settings


def _image(r: SectionReader, commit_sha: str) -> ImageSettings:
    uri = r.optional_string(
        "uri",
        pattern=IMAGE_DIGEST_URI,
        hint="an image URI pinned by digest: <registry>/<repo>@sha256:<64 hex>",
    )
    settings = ImageSettings(
        uri=uri,
        context=r.string("context", "app"),
        platform=r.string(
            "platform",
            "linux/amd64",  # type: ignore[arg-type]
            allowed=("linux/amd64", "linux/arm64"),
        ),
        keep_tagged_images=r.integer("keepTaggedImages", 30, minimum=1, maximum=1000),
        untagged_expiry_days=r.integer("untaggedExpiryDays", 7, minimum=1, maximum=365),
        tag=commit_sha,
    )
    r.finish()
    if uri is None and not re.fullmatch(GIT_SHA, commit_sha or ""):
        raise SettingsError(
            f"{r.source}: cannot tag the image built for {r.path}: no commit SHA found "
            f"(got {commit_sha!r}). Set COMMIT_SHA to the 7-40 hex digit commit, run from a "
            f"git checkout, or set {r.key('uri')} to a prebuilt image."
        )
    return settings


def _service(r: SectionReader) -> ServiceSettings:
    from components.fargate_sizes import validate_task_size

    cpu = r.integer("cpu", 512, allowed=(256, 512, 1024, 2048, 4096, 8192, 16384))
    memory = r.integer("memoryMiB", 1024, minimum=512, maximum=122880)
    try:
        validate_task_size(cpu, memory)
    except ValueError as error:
        raise r.fail("memoryMiB", memory, f"a Fargate memory size for cpu {cpu}: {error}") from None
    min_tasks = r.integer("minTasks", 2, minimum=1, maximum=100)
    max_tasks = r.integer("maxTasks", 4, minimum=1, maximum=100)
    if max_tasks < min_tasks:
        raise r.fail("maxTasks", max_tasks, f"at least minTasks ({min_tasks})")
    requests = r.raw.get("requestsPerTarget", 1000)
    settings = ServiceSettings(
        cpu=cpu,
        memory_mib=memory,
        min_tasks=min_tasks,
        max_tasks=max_tasks,
        cpu_target_percent=r.integer("cpuTargetPercent", 60, minimum=10, maximum=95),
        memory_target_percent=r.integer("memoryTargetPercent", 75, minimum=10, maximum=95),
        requests_per_target=(
            None
            if requests in (0, "0")
            else r.integer("requestsPerTarget", 1000, minimum=1, maximum=100000)
        ),
        container_port=r.integer("containerPort", 8000, minimum=1024, maximum=65535),
        health_check_grace_seconds=r.integer(
            "healthCheckGraceSeconds", 60, minimum=0, maximum=2147483647
        ),
        stop_timeout_seconds=r.integer("stopTimeoutSeconds", 30, minimum=2, maximum=120),
        log_retention_days=r.integer("logRetentionDays", 30, allowed=LOG_RETENTION_DAYS),
    )
    r.consumed.add("requestsPerTarget")
    r.finish()
    return settings


def _app(r: SectionReader) -> AppSettings:
    url = r"https?://[^\s/$.?#][^\s]*"
    settings = AppSettings(
        log_level=r.string(
            "logLevel",
            "INFO",  # type: ignore[arg-type]
            allowed=("DEBUG", "INFO", "WARNING", "ERROR"),
        ),
        use_local_llm=r.boolean("useLocalLlm", False),
        openai_model=r.string(
            "openaiModel",
            "gpt-4o-mini",
            pattern=r"[A-Za-z0-9._:/-]{1,100}",
            hint="a model name such as gpt-4o-mini",
        ),
        openai_base_url=r.string(
            "openaiBaseUrl", "https://api.openai.com/v1", pattern=url, hint="an http(s) URL"
        ),
        ollama_model=r.string(
            "ollamaModel",
            "llama3.1",
            pattern=r"[A-Za-z0-9._:/-]{1,100}",
            hint="a model name such as llama3.1",
        ),
        ollama_base_url=r.optional_string("ollamaBaseUrl", pattern=url, hint="an http(s) URL")
        or "",
        files_bucket=r.optional_string(
            "filesBucket", pattern=S3_BUCKET, hint="an S3 bucket name (3-63 lower-case characters)"
        ),
        files_prefix=r.string(
            "filesPrefix",
            "",
            pattern=r"([^/\s][^\s]*/)?",
            hint="an S3 key prefix ending in '/', without a leading '/'",
        ),
    )
    r.finish()
    if settings.use_local_llm and not settings.ollama_base_url:
        raise r.fail(
            "ollamaBaseUrl",
            settings.ollama_base_url,
            "an http(s) URL of the Ollama server when useLocalLlm is true",
        )
    return settings


def _load_balancer(r: SectionReader) -> LoadBalancerSettings:
    settings = LoadBalancerSettings(
        deletion_protection=r.boolean("deletionProtection", True),
        idle_timeout_seconds=r.integer("idleTimeoutSeconds", 60, minimum=1, maximum=4000),
        deregistration_delay_seconds=r.integer(
            "deregistrationDelaySeconds", 30, minimum=0, maximum=3600
        ),
        ip_address_type=r.string(
            "ipAddressType",
            "ipv4",  # type: ignore[arg-type]
            allowed=("ipv4", "dualstack"),
        ),
    )
    r.finish()
    return settings


def _database(r: SectionReader) -> DatabaseSettings:
    enabled = r.boolean("enabled", False)
    allocated = r.integer("allocatedStorageGiB", 20, minimum=20, maximum=65536)
    maximum = r.integer("maxAllocatedStorageGiB", 100, minimum=20, maximum=65536)
    if maximum < allocated:
        raise r.fail(
            "maxAllocatedStorageGiB", maximum, f"at least allocatedStorageGiB ({allocated})"
        )
    settings = DatabaseSettings(
        enabled=enabled,
        engine_version=str(r.string("engineVersion", "16", allowed=POSTGRES_MAJOR_VERSIONS)),
        instance_class=r.string(
            "instanceClass",
            "db.t4g.small",
            pattern=r"db\.[a-z0-9]+\.[a-z0-9]+",
            hint="an RDS instance class such as db.t4g.small",
        ),
        allocated_storage_gib=allocated,
        max_allocated_storage_gib=maximum,
        database_name=r.string(
            "databaseName",
            "app",
            pattern=r"[a-z][a-z0-9_]{0,62}",
            hint="a lower-case identifier of at most 63 characters",
        ),
        master_username=r.string(
            "masterUsername",
            "app_admin",
            pattern=r"[a-z][a-z0-9_]{0,62}",
            hint="a lower-case identifier other than postgres, admin, root",
        ),
        multi_az=r.boolean("multiAz", True),
        deletion_protection=r.boolean("deletionProtection", True),
        backup_retention_days=r.integer("backupRetentionDays", 7, minimum=1, maximum=35),
    )
    username = settings.master_username
    if username in RESERVED_USERNAMES or username.startswith(RESERVED_USERNAME_PREFIX):
        raise r.fail(
            "masterUsername",
            username,
            f"a name other than {', '.join(sorted(RESERVED_USERNAMES))} "
            f"and not starting with {RESERVED_USERNAME_PREFIX}",
        )
    if settings.database_name in RESERVED_DB_NAMES:
        raise r.fail(
            "databaseName",
            settings.database_name,
            f"a name other than {', '.join(sorted(RESERVED_DB_NAMES))}",
        )
    r.finish()
    return settings


def _cache(r: SectionReader) -> CacheSettings:
    settings = CacheSettings(
        enabled=r.boolean("enabled", False),
        engine_version=r.string("engineVersion", "7.1", allowed=list(REDIS_ENGINE_VERSIONS)),
        node_type=r.string(
            "nodeType",
            "cache.t4g.small",
            pattern=r"cache\.[a-z0-9]+\.[a-z0-9]+",
            hint="an ElastiCache node type such as cache.t4g.small",
        ),
        node_count=r.integer("nodeCount", 2, minimum=1, maximum=6),
        automatic_failover=r.boolean("automaticFailover", True),
        snapshot_retention_days=r.integer("snapshotRetentionDays", 7, minimum=1, maximum=35),
    )
    if settings.automatic_failover and settings.node_count < 2:
        raise r.fail(
            "nodeCount",
            settings.node_count,
            "2 or more while automaticFailover is true (set it to false for one node)",
        )
    r.finish()
    return settings


def _activity_log(r: SectionReader) -> ActivityLogSettings:
    settings = ActivityLogSettings(enabled=r.boolean("enabled", False))
    r.finish()
    return settings


def _relaxations(root: SectionReader, raw: Any, stack: str) -> dict[str, str]:
    """The policy rules this stack relaxes, checked by the policy pack's own reader."""
    root.consumed.add("relaxations")
    try:
        return parse_relaxations(raw, stack, root.source)
    except RelaxationError as error:
        raise SettingsError(str(error)) from None
