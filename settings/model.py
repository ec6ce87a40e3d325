"""The validated settings of one stack: plain, frozen values that `__main__.py` composes.

Each dataclass mirrors one mapping of the stack file (`webstack:service`, ...). The README's
configuration table lists every key with its type, unit, default and the value each stack
sets; defaults here are the secure ones, and a stack relaxes them only by setting a key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, kw_only=True)
class NetworkSettings:
    """`webstack:network`: a new VPC, or an existing one given by id."""

    mode: Literal["create", "existing"] = "create"
    cidr_block: str = "10.0.0.0/16"
    availability_zones: int = 2
    nat_gateways: Literal["single", "one_per_az"] = "one_per_az"
    vpc_id: str | None = None
    public_subnet_ids: tuple[str, ...] = ()
    private_subnet_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ImageSettings:
    """`webstack:image`: build `app/` during `pulumi up`, or use an image pushed by CI."""

    uri: str | None = None
    """Prebuilt image pinned by digest; when set, nothing is built."""
    context: str = "app"
    platform: Literal["linux/amd64", "linux/arm64"] = "linux/amd64"
    keep_tagged_images: int = 30
    untagged_expiry_days: int = 7
    repository_name: str = ""
    """ECR repository name, `webstack-<stack>`, fixed so CI knows the URL before a deploy."""
    tag: str = ""
    """Git commit SHA the build is tagged with (from COMMIT_SHA, BITBUCKET_COMMIT or git)."""


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    """`webstack:service`: task size, scaling and rollout of the ECS service."""

    cpu: int = 512
    memory_mib: int = 1024
    min_tasks: int = 2
    max_tasks: int = 4
    cpu_target_percent: int = 60
    memory_target_percent: int = 75
    requests_per_target: int | None = 1000
    container_port: int = 8000
    health_check_grace_seconds: int = 60
    stop_timeout_seconds: int = 30
    log_retention_days: int = 30


@dataclass(frozen=True, kw_only=True)
class AppSettings:
    """`webstack:app`: the plain settings the app reads (never a credential)."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    use_local_llm: bool = False
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str = "https://api.openai.com/v1"
    ollama_model: str = "llama3.1"
    ollama_base_url: str = ""
    files_bucket: str | None = None
    files_prefix: str = ""


@dataclass(frozen=True, kw_only=True)
class LoadBalancerSettings:
    """`webstack:loadBalancer`."""

    deletion_protection: bool = True
    idle_timeout_seconds: int = 60
    deregistration_delay_seconds: int = 30
    ip_address_type: Literal["ipv4", "dualstack"] = "ipv4"


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings:
    """`webstack:database`: RDS PostgreSQL, off unless `enabled: true`."""

    enabled: bool = False
    engine_version: str = "16"
    instance_class: str = "db.t4g.small"
    allocated_storage_gib: int = 20
    max_allocated_storage_gib: int = 100
    database_name: str = "app"
    master_username: str = "app_admin"
    multi_az: bool = True
    deletion_protection: bool = True
    backup_retention_days: int = 7


@dataclass(frozen=True, kw_only=True)
class CacheSettings:
    """`webstack:cache`: ElastiCache Redis, off unless `enabled: true`."""

    enabled: bool = False
    engine_version: str = "7.1"
    node_type: str = "cache.t4g.small"
    node_count: int = 2
    automatic_failover: bool = True
    snapshot_retention_days: int = 7


@dataclass(frozen=True, kw_only=True)
class ActivityLogSettings:
    """`webstack:activityLog`: the EFS volume the app's activity log lives on."""

    enabled: bool = False


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """The validated contents of one stack file."""

    stack: str
    source: str
    """Stack file the values came from, for messages."""
    region: str
    domain_name: str
    hosted_zone_name: str
    network: NetworkSettings
    image: ImageSettings
    service: ServiceSettings
    app: AppSettings
    load_balancer: LoadBalancerSettings
    database: DatabaseSettings
    cache: CacheSettings
    activity_log: ActivityLogSettings
    relaxations: dict[str, str] = field(default_factory=dict)
    """Rule id to the reason this stack relaxes it (read by the policy pack)."""
    hold_service_task_definition: bool = False
    """Register the new task definition without rolling the service (release phase)."""
    openai_api_key_set: bool = False
    """Whether the secret `webstack:openaiApiKey` is set; its value is read by `__main__`."""
