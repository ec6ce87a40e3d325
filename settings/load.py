"""Turn one stack's raw configuration into `StackSettings`, before any resource exists.

`load` takes the configuration map (`"webstack:service"` -> value) and the stack file's
name, and raises `SettingsError` naming the file, the key, the value received and what is
allowed. It reads nothing else, except the commit SHA (environment, then `git`) when the
caller does not pass one. `__main__.py` and the offline plan call it first, so a bad value never
leaves a half-declared stack.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping
from typing import Any

from components.errors import ComponentInputError
from components.fargate_sizes import FARGATE_MEMORY_MIB_BY_CPU
from components.log_retention import LOG_RETENTION_DAYS
from components.network import check_cidr_block
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
# Configuration namespaces a stack file may use: this project's, the Pulumi engine's and
# those of the providers the program loads. Any other (a misspelt `webstak:`) is an error.
KNOWN_NAMESPACES = frozenset({PROJECT, "pulumi", "aws", "awsx", "docker", "random"})
CREATE_ONLY_NETWORK_KEYS = ("cidrBlock", "availabilityZones", "natGateways")
EXISTING_ONLY_NETWORK_KEYS = ("vpcId", "publicSubnetIds", "privateSubnetIds")

DNS_NAME = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
STACK_NAME = r"[a-z][a-z0-9-]{0,39}"
# Seconds the app keeps idle connections open and drains in-flight requests after
# SIGTERM (`Tuning` in app/config.py; a test keeps the two in step). The load balancer's
# idle timeout must stay below the first, the task's stop timeout above the second.
APP_KEEP_ALIVE_SECONDS = 65
APP_SHUTDOWN_GRACE_SECONDS = 25
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
    """Return the file the Pulumi CLI reads a stack's configuration from by default."""
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
    """Return the commit the image is tagged with: COMMIT_SHA, BITBUCKET_COMMIT, then git.

    Returns an empty string when none is available, which `load` rejects.
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

    foreign = sorted(
        key for key in values if key.split(":", 1)[0] not in KNOWN_NAMESPACES or ":" not in key
    )
    if foreign:
        raise SettingsError(
            f"{source}: unknown key {foreign[0]}. Allowed: keys of this project "
            f"({PROJECT}:...) and of the providers it uses ("
            + ", ".join(f"{n}:..." for n in sorted(KNOWN_NAMESPACES - {PROJECT}))
            + ")."
        )
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

    if not re.fullmatch(STACK_NAME, stack):
        raise SettingsError(
            f"{source}: invalid stack name {stack!r}. Allowed: lower-case letters, digits and "
            "'-', starting with a letter, at most 40 characters, because the stack name "
            "becomes the app's APP_ENV and part of the ECR repository name."
        )
    region = values.get("aws:region")
    if region is None:
        raise SettingsError(
            f"{source}: missing required key aws:region. "
            f"Set it with `pulumi config set aws:region us-east-1 --stack {stack}`."
        )
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
        image=_image(root.section("image"), commit_sha, stack, region),
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
    if settings.load_balancer.ip_address_type == "dualstack" and settings.network.mode == "create":
        raise SettingsError(
            f"{source}: invalid value for {PROJECT}:loadBalancer.ipAddressType: 'dualstack'. "
            f"Allowed: ipv4 with {PROJECT}:network.mode create, because the VPC it creates "
            "has no IPv6 subnets; dualstack needs an existing VPC whose public subnets have "
            "IPv6 ranges."
        )
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
        r.finish(elsewhere=dict.fromkeys(CREATE_ONLY_NETWORK_KEYS, "with mode: create"))
        return NetworkSettings(
            mode="existing",
            vpc_id=vpc_id,
            public_subnet_ids=tuple(public),
            private_subnet_ids=tuple(private),
        )
    cidr = r.string(
        "cidrBlock",
        "10.0.0.0/16",
        pattern=r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/\d{1,2}",
        hint="a private IPv4 CIDR block from /16 to /24, e.g. 10.20.0.0/16",
    )
    try:
        check_cidr_block(cidr)
    except ComponentInputError as error:
        raise r.fail("cidrBlock", cidr, error.allowed) from None
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
    r.finish(elsewhere=dict.fromkeys(EXISTING_ONLY_NETWORK_KEYS, "with mode: existing"))
    return settings


def _image(r: SectionReader, commit_sha: str, stack: str, region: str) -> ImageSettings:
    repository = f"{PROJECT}-{stack}"
    uri = r.optional_string(
        "uri",
        pattern=IMAGE_DIGEST_URI,
        hint="an image URI pinned by digest: <registry>/<repo>@sha256:<64 hex>",
    )
    settings = ImageSettings(
        uri=uri,
        context=r.string(
            "context",
            "app",
            pattern=r"(?!.*(^|/)\.\.(/|$))[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*",
            hint="a folder inside the project, relative to it, e.g. app",
        ),
        platform=r.string(
            "platform",
            "linux/amd64",  # type: ignore[arg-type]
            allowed=("linux/amd64", "linux/arm64"),
        ),
        keep_tagged_images=r.integer("keepTaggedImages", 30, minimum=1, maximum=1000),
        untagged_expiry_days=r.integer("untaggedExpiryDays", 7, minimum=1, maximum=365),
        repository_name=repository,
        tag=commit_sha,
    )
    r.finish()
    if uri is not None:
        # The execution role may pull only from this stack's repository.
        expected = rf"\d{{12}}\.dkr\.ecr\.{re.escape(region)}\.amazonaws\.com/{repository}@.*"
        if not re.fullmatch(expected, uri):
            raise r.fail(
                "uri",
                uri,
                f"an image in this stack's repository, "
                f"<account>.dkr.ecr.{region}.amazonaws.com/{repository}@sha256:<digest>",
            )
    # The built image is tagged with the commit, and the app reports it (COMMIT_SHA) in
    # both modes, so a prebuilt image needs the commit it was built from too.
    if not re.fullmatch(GIT_SHA, commit_sha or ""):
        raise SettingsError(
            f"{r.source}: no commit SHA found for {r.path} (got {commit_sha!r}). Set "
            "COMMIT_SHA to the 7-40 hex digit commit the image is built from, or run from "
            "a git checkout."
        )
    return settings


def _service(r: SectionReader) -> ServiceSettings:
    cpu = r.integer("cpu", 512, allowed=tuple(FARGATE_MEMORY_MIB_BY_CPU))
    memory = r.integer("memoryMiB", 1024, minimum=512, maximum=122880)
    sizes = FARGATE_MEMORY_MIB_BY_CPU[cpu]
    if memory not in sizes:
        if len(sizes) <= 4:
            choices = "one of " + ", ".join(str(size) for size in sizes)
        else:
            choices = f"{sizes[0]} to {sizes[-1]} in steps of {sizes[1] - sizes[0]}"
        raise r.fail("memoryMiB", memory, f"with cpu {cpu}, {choices} (Fargate task sizes)")
    min_tasks = r.integer("minTasks", 2, minimum=1, maximum=100)
    max_tasks = r.integer("maxTasks", 4, minimum=1, maximum=100)
    if max_tasks < min_tasks:
        raise r.fail("maxTasks", max_tasks, f"at least minTasks ({min_tasks})")
    requests = r.integer("requestsPerTarget", 1000, minimum=0, maximum=100000)
    settings = ServiceSettings(
        cpu=cpu,
        memory_mib=memory,
        min_tasks=min_tasks,
        max_tasks=max_tasks,
        cpu_target_percent=r.integer("cpuTargetPercent", 60, minimum=10, maximum=95),
        memory_target_percent=r.integer("memoryTargetPercent", 75, minimum=10, maximum=95),
        # 0 turns request-count scaling off.
        requests_per_target=requests or None,
        container_port=r.integer("containerPort", 8000, minimum=1024, maximum=65535),
        health_check_grace_seconds=r.integer(
            "healthCheckGraceSeconds", 60, minimum=0, maximum=2147483647
        ),
        # Fargate's maximum is 120 s; below the app's drain time, ECS would kill the
        # process while it still finishes in-flight requests.
        stop_timeout_seconds=r.integer(
            "stopTimeoutSeconds", 30, minimum=APP_SHUTDOWN_GRACE_SECONDS + 5, maximum=120
        ),
        log_retention_days=r.integer("logRetentionDays", 30, allowed=LOG_RETENTION_DAYS),
    )
    r.finish()
    return settings


def _app(r: SectionReader) -> AppSettings:
    # No user:password@ part: credentials belong in secrets, not in a plain setting.
    url = r"https?://[^\s/$.?#@][^\s@]*"
    https_url = r"https://[^\s/$.?#@][^\s@]*"
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
            "openaiBaseUrl",
            "https://api.openai.com/v1",
            pattern=https_url,
            hint="an https URL without credentials (the API key travels in a header)",
        ),
        ollama_model=r.string(
            "ollamaModel",
            "llama3.1",
            pattern=r"[A-Za-z0-9._:/-]{1,100}",
            hint="a model name such as llama3.1",
        ),
        ollama_base_url=r.optional_string(
            "ollamaBaseUrl", pattern=url, hint="an http(s) URL without credentials"
        )
        or "",
        files_bucket=r.optional_string(
            "filesBucket", pattern=S3_BUCKET, hint="an S3 bucket name (3-63 lower-case characters)"
        ),
        files_prefix=r.string(
            "filesPrefix",
            "",
            pattern=r"([A-Za-z0-9!_*'()-][A-Za-z0-9!_.*'()-]*/){0,10}",
            hint="an S3 key prefix of path segments, each ending in '/', without a leading "
            "'/', '.' or '..' segments, e.g. shared/",
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
        # The app closes idle connections after APP_KEEP_ALIVE_SECONDS; a longer ALB idle
        # timeout makes the ALB reuse closed connections and return 502. The minimum leaves
        # room for a slow LLM response (the app waits up to 25 s).
        idle_timeout_seconds=r.integer(
            "idleTimeoutSeconds", 60, minimum=30, maximum=APP_KEEP_ALIVE_SECONDS - 5
        ),
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
    # RDS storage autoscaling needs the ceiling at least 10 % above the allocated size.
    least = -(-allocated * 11 // 10)
    if maximum < least:
        raise r.fail(
            "maxAllocatedStorageGiB",
            maximum,
            f"at least {least}, 10 % above allocatedStorageGiB ({allocated})",
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
    """Return the policy rules this stack relaxes, checked by the policy pack's own reader."""
    root.consumed.add("relaxations")
    try:
        return parse_relaxations(raw, stack, root.source)
    except RelaxationError as error:
        raise SettingsError(str(error)) from None
