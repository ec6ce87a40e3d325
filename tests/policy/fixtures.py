"""Compliant resource properties shaped like the recorded mock inputs (camelCase, floats).

Each test copies one of these, flips a single property, and expects one exact message.
"""

import copy
import json
from typing import Any

from policy.context import RuleContext

ACCOUNT = "123456789012"


def container(**overrides: Any) -> dict[str, Any]:
    """Return the web container as FargateService's container definition builds it."""
    definition: dict[str, Any] = {
        "name": "web",
        "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/web@sha256:{'a' * 64}",
        "essential": True,
        "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
        "user": "10001:10001",
        "readonlyRootFilesystem": True,
        "privileged": False,
        "environment": [{"name": "OPENAI_MODEL", "value": "gpt-4o-mini"},
                        {"name": "PORT", "value": "8000"},
                        {"name": "REDIS_URL", "value": "rediss://cache.example:6379/0"}],
        "secrets": [{"name": "OPENAI_API_KEY",
                     "valueFrom": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:k-AbCdEf"}],
        "logConfiguration": {"logDriver": "awslogs",
                             "options": {"awslogs-group": "web-logs",
                                         "awslogs-region": "us-east-1",
                                         "awslogs-stream-prefix": "web"}},
    }
    definition.update(overrides)
    return definition


TRUST_ECS_TASKS = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:*:{ACCOUNT}:*"}},
    }],
}

S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
                   "Resource": "arn:aws:s3:::example-files/shared/*"}],
}

GOOD: dict[str, dict[str, Any]] = {
    "aws:ecr/repository:Repository": {
        "imageScanningConfiguration": {"scanOnPush": True},
        "imageTagMutability": "IMMUTABLE",
        "encryptionConfigurations": [{"encryptionType": "KMS"}],
    },
    "aws:ecs/cluster:Cluster": {"settings": [{"name": "containerInsights", "value": "enabled"}]},
    "aws:ecs/service:Service": {
        "launchType": "FARGATE",
        "networkConfiguration": {"assignPublicIp": False, "subnets": ["subnet-a", "subnet-b"],
                                 "securityGroups": ["sg-service"]},
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        "desiredCount": 2.0,
    },
    "aws:ecs/taskDefinition:TaskDefinition": {
        "family": "web",
        "cpu": "256",
        "memory": "512",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": json.dumps([container()]),
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/web-exec",
        "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/web-task",
        "volumes": [{"name": "scratch"},
                    {"name": "activity",
                     "efsVolumeConfiguration": {
                         "fileSystemId": "fs-1", "transitEncryption": "ENABLED",
                         "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}}],
    },
    "aws:lb/loadBalancer:LoadBalancer": {
        "loadBalancerType": "application",
        "subnets": ["subnet-pub-a", "subnet-pub-b"],
        "securityGroups": ["sg-alb"],
        "dropInvalidHeaderFields": True,
        "desyncMitigationMode": "defensive",
        "enableDeletionProtection": True,
    },
    "aws:lb/listener:Listener": {
        "protocol": "HTTPS", "port": 443.0, "loadBalancerArn": "arn:alb",
        "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "certificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/c",
        "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}],
    },
    "aws:lb/targetGroup:TargetGroup": {
        "port": 8000.0, "protocol": "HTTP", "targetType": "ip", "vpcId": "vpc-1",
        "healthCheck": {"path": "/api/health", "matcher": "200", "interval": 10.0},
    },
    "aws:ec2/securityGroup:SecurityGroup": {
        "vpcId": "vpc-1", "description": "alb",
        "ingress": [{"protocol": "tcp", "fromPort": 443.0, "toPort": 443.0,
                     "cidrBlocks": ["0.0.0.0/0"]}],
    },
    "aws:ec2/securityGroupRule:SecurityGroupRule": {
        "type": "ingress", "securityGroupId": "sg-db", "protocol": "tcp", "fromPort": 5432.0,
        "toPort": 5432.0, "sourceSecurityGroupId": "sg-service",
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {
        "securityGroupId": "sg-alb", "ipProtocol": "tcp", "fromPort": 80.0, "toPort": 80.0,
        "cidrIpv4": "0.0.0.0/0",
    },
    "aws:rds/instance:Instance": {
        "engine": "postgres", "engineVersion": "16", "instanceClass": "db.t4g.micro",
        "username": "app", "manageMasterUserPassword": True, "publiclyAccessible": False,
        "storageEncrypted": True, "multiAz": True, "deletionProtection": True,
        "skipFinalSnapshot": False, "finalSnapshotIdentifier": "web-db-final",
        "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
        "backupRetentionPeriod": 7.0, "autoMinorVersionUpgrade": True,
        "copyTagsToSnapshot": True, "parameterGroupName": "web-db-params",
        "vpcSecurityGroupIds": ["sg-db"],
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": {
        "engine": "redis", "description": "cache", "numCacheClusters": 2.0,
        "automaticFailoverEnabled": True, "multiAzEnabled": True,
        "atRestEncryptionEnabled": True, "transitEncryptionEnabled": True,
        "authToken": "token-from-secrets-manager", "snapshotRetentionLimit": 7.0,
        "subnetGroupName": "web-cache-subnets", "securityGroupIds": ["sg-cache"],
    },
    "aws:efs/fileSystem:FileSystem": {"encrypted": True},
    "aws:efs/accessPoint:AccessPoint": {
        "fileSystemId": "fs-1", "posixUser": {"uid": 10001.0, "gid": 10001.0},
        "rootDirectory": {"path": "/activity",
                          "creationInfo": {"ownerUid": 10001.0, "ownerGid": 10001.0,
                                           "permissions": "0750"}},
    },
    "aws:iam/role:Role": {"assumeRolePolicy": json.dumps(TRUST_ECS_TASKS)},
    "aws:iam/rolePolicy:RolePolicy": {"role": "web-task", "policy": json.dumps(S3_READ)},
    "aws:iam/policy:Policy": {"policy": json.dumps(S3_READ)},
    "aws:cloudwatch/logGroup:LogGroup": {"retentionInDays": 90.0},
}


def good(resource_type: str, **overrides: Any) -> dict[str, Any]:
    """Return a deep copy of the compliant properties of a type, with `overrides` applied."""
    props = copy.deepcopy(GOOD[resource_type])
    props.update(overrides)
    return props


def without(resource_type: str, *keys: str) -> dict[str, Any]:
    """Return the compliant properties of a type with `keys` removed."""
    props = good(resource_type)
    for key in keys:
        props.pop(key)
    return props


def task_with(**container_overrides: Any) -> dict[str, Any]:
    """Return task definition properties whose one container has `container_overrides`."""
    return good("aws:ecs/taskDefinition:TaskDefinition",
                containerDefinitions=json.dumps([container(**container_overrides)]))


def policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


PROD = RuleContext(stack="prod")
