"""Reusable Pulumi components for one containerized web service on ECS Fargate."""

from components.attachment import EfsMount, IngressGrant, ServiceAttachment
from components.dns_alias import DnsAlias, DnsAliasArgs
from components.ecr_repo import EcrRepo, EcrRepoArgs, ImageBuild
from components.efs_volume import EfsVolume, EfsVolumeArgs, subnets_by_position
from components.errors import ComponentInputError
from components.fargate_service import FargateService, FargateServiceArgs, LoadBalancerTarget
from components.https_alb import HttpsAlb, HttpsAlbArgs
from components.network import ExistingNetwork, Network, NetworkArgs
from components.rds_database import RdsDatabase, RdsDatabaseArgs
from components.redis_cache import RedisCache, RedisCacheArgs
from components.task_role import S3ReadGrant, TaskRole, TaskRoleArgs

__all__ = [
    "ComponentInputError",
    "DnsAlias",
    "DnsAliasArgs",
    "EcrRepo",
    "EcrRepoArgs",
    "EfsMount",
    "EfsVolume",
    "EfsVolumeArgs",
    "ExistingNetwork",
    "FargateService",
    "FargateServiceArgs",
    "HttpsAlb",
    "HttpsAlbArgs",
    "ImageBuild",
    "IngressGrant",
    "LoadBalancerTarget",
    "Network",
    "NetworkArgs",
    "RdsDatabase",
    "RdsDatabaseArgs",
    "RedisCache",
    "RedisCacheArgs",
    "S3ReadGrant",
    "ServiceAttachment",
    "TaskRole",
    "TaskRoleArgs",
    "subnets_by_position",
]
