"""Run Pulumi code under Pulumi's own mock runtime and record every resource it declares.

Used by the offline plan (`python -m tools.plan`) and by the unit tests. Nothing here talks
to AWS or to a Pulumi engine: `RecordingMocks` answers each registration with the inputs it
received plus the attributes AWS would compute (ARNs, DNS names, digests). Every such
invented value is remembered in `RecordingMocks.computed`, so a renderer can mark it as
"known after deploy" instead of passing it off as real data.

Function calls (invokes) that are not listed in `RecordingMocks.call` raise, so a new
lookup cannot silently receive an empty result.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

ACCOUNT_ID = "123456789012"
"""AWS's documentation account id, used for every invented ARN."""

SECRET_SIG_KEY = rpc._special_sig_key
SECRET_SIG_VALUE = rpc._special_secret_sig

# Route 53 hosted zone ids of Application Load Balancers per region (AWS General Reference,
# "Elastic Load Balancing endpoints and quotas"). Only used to invent a realistic value.
ALB_ZONE_IDS = {
    "us-east-1": "Z35SXDOTRQ7X7K",
    "us-east-2": "Z3AADJGX6KTTL2",
    "us-west-2": "Z1H1FL5HABSF5",
    "eu-west-1": "Z32O12XQLNTSW2",
    "eu-central-1": "Z215JYRZR1TBD5",
}


REMOTE_COMPONENTS = frozenset({"awsx:ec2:Vpc"})
"""Components implemented by a provider plugin, whose outputs the mock invents."""


class UnmockedInvokeError(RuntimeError):
    """A function call (invoke) the mock runtime has no result for."""


@dataclass
class Recorded:
    """One resource declared by the program, as the engine would receive it."""

    type: str
    name: str
    parent: str | None
    """Type and name of the parent, as `type::name`, or None for the stack's direct children."""
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    custom: bool
    urn: str
    id: str | None = None
    """Physical id the mock gave a custom resource; None for components."""
    ignore_changes: tuple[str, ...] = ()
    """Properties the resource options tell the engine to leave alone on update."""
    protect: bool = False
    """Whether the resource options protect the resource from deletion."""


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:8]


def is_secret(value: Any) -> bool:
    """Tell whether a deserialized input value is Pulumi's secret wrapper."""
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE


@dataclass
class RecordingMocks(pulumi_mocks.Mocks):
    """Mocks that record every resource and invent the attributes AWS would compute."""

    region: str = "us-east-1"
    availability_zones: tuple[str, ...] = ("a", "b", "c")
    records: list[Recorded] = field(default_factory=list)
    computed: set[str] = field(default_factory=set)
    """Every string this mock invented; a renderer marks these as known after deploy."""
    looked_up: set[str] = field(default_factory=set)
    """Strings returned by mocked lookups (account id, zone id); real AWS results differ."""
    extra_calls: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=dict)
    """Additional invoke results by token, for a test that needs one."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _registering: threading.local = field(default_factory=threading.local)
    """The parent URN of the registration in progress on this thread."""

    # -- resources -------------------------------------------------------------------------

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        """Return an id and the state AWS would report for one declared resource."""
        if not args.custom and args.typ not in REMOTE_COMPONENTS:
            # Component resources written in Python carry no provider state.
            return f"{args.name}-component", {}
        parent = getattr(self._registering, "parent", "")
        computed = self._computed_outputs(args.typ, args.name, args.inputs, parent)
        # A value copied from an input (a record's fqdn is its name) is not invented.
        given = {v for v in args.inputs.values() if isinstance(v, str)}
        invented = {
            k: v
            for k, v in computed.items()
            if args.inputs.get(k) != v and not (isinstance(v, str) and v in given)
        }
        with self._lock:
            self._remember(invented, given)
        # awsx rejects its own inputs echoed back (type check on nat_gateways).
        state = computed if args.typ == "awsx:ec2:Vpc" else {**args.inputs, **computed}
        fallback_id = f"{args.name}-{_short_hash(args.typ, args.name, parent)}"
        resource_id = str(computed.get("id", fallback_id))
        with self._lock:
            self.computed.add(resource_id)
        return resource_id, state

    def _remember_lookup(self, answer: dict[str, Any]) -> None:
        for key, value in answer.items():
            if isinstance(value, str) and key not in (
                "name",
                "region",
                "id",
                "partition",
                "dnsSuffix",
                "userName",
            ):
                self.looked_up.add(value)

    def _remember(self, value: Any, given: set[str]) -> None:
        if isinstance(value, str):
            # The account id inside an ARN is invented with it. On its own it is a lookup
            # result that a real preview already knows.
            if value not in given and value != ACCOUNT_ID:
                self.computed.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                self._remember(item, given)
        elif isinstance(value, list):
            for item in value:
                self._remember(item, given)

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    def _computed_outputs(
        self, typ: str, name: str, inputs: dict[str, Any], parent: str = ""
    ) -> dict[str, Any]:
        """Invent the attributes AWS computes for the resource types this program declares.

        Values derive from a hash of type, name and parent, so two children with the same
        name under different components (two `web-sg` groups) get different ids.
        """
        h = _short_hash(typ, name, parent)
        physical = inputs.get("name") or f"{name}-{h}"
        if not isinstance(physical, str):
            physical = f"{name}-{h}"
        service = typ.split(":")[1].split("/")[0] if ":" in typ else "unknown"
        out: dict[str, Any] = {"arn": self._arn(service, f"{name}/{h}")}

        match typ:
            case "awsx:ec2:Vpc":
                count = int(inputs.get("numberOfAvailabilityZones") or 3)
                azs = self.availability_zones[:count]
                return {
                    "vpcId": f"vpc-{h}",
                    "publicSubnetIds": [f"subnet-pub{az}{h[:4]}" for az in azs],
                    "privateSubnetIds": [f"subnet-prv{az}{h[:4]}" for az in azs],
                    "isolatedSubnetIds": [],
                }
            case "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
                out["id"] = f"sg-default{h}"
            case "aws:ec2/securityGroup:SecurityGroup":
                out["id"] = f"sg-{h}"
            case "aws:ecr/repository:Repository":
                physical = inputs.get("name") or f"{name}-{h}"
                out.update(
                    name=physical,
                    arn=self._arn("ecr", f"repository/{physical}"),
                    repositoryUrl=f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com/{physical}",
                    registryId=ACCOUNT_ID,
                )
            case "docker:index/image:Image":
                image_name = str(inputs.get("imageName", f"{name}:latest"))
                repo = image_name.rsplit(":", 1)[0]
                digest = hashlib.sha256(image_name.encode()).hexdigest()
                out = {"imageName": image_name, "repoDigest": f"{repo}@sha256:{digest}"}
            case "aws:lb/loadBalancer:LoadBalancer":
                out.update(
                    name=physical,
                    arn=self._arn("elasticloadbalancing", f"loadbalancer/app/{physical}/{h}"),
                    arnSuffix=f"app/{physical}/{h}",
                    dnsName=f"{physical}-{h}.{self.region}.elb.amazonaws.com",
                    zoneId=ALB_ZONE_IDS.get(self.region, "Z35SXDOTRQ7X7K"),
                )
            case "aws:lb/targetGroup:TargetGroup":
                out.update(
                    name=physical,
                    arn=self._arn("elasticloadbalancing", f"targetgroup/{physical}/{h}"),
                    arnSuffix=f"targetgroup/{physical}/{h}",
                )
            case "aws:lb/listener:Listener":
                out["arn"] = self._arn("elasticloadbalancing", f"listener/app/{name}/{h}")
            case "aws:acm/certificate:Certificate":
                domains = [inputs.get("domainName", "example.com")]
                domains += list(inputs.get("subjectAlternativeNames") or [])
                out.update(
                    arn=self._arn("acm", f"certificate/{h}"),
                    domainValidationOptions=[
                        {
                            "domainName": d,
                            "resourceRecordName": f"_{_short_hash(d)}.{d}.",
                            "resourceRecordType": "CNAME",
                            "resourceRecordValue": f"_{_short_hash(d, 'v')}.acm-validations.aws.",
                        }
                        for d in domains
                    ],
                )
            case "aws:acm/certificateValidation:CertificateValidation":
                out = {}
            case "aws:ecs/cluster:Cluster":
                out.update(name=physical, arn=self._arn("ecs", f"cluster/{physical}"))
            case "aws:ecs/taskDefinition:TaskDefinition":
                family = inputs.get("family", name)
                out.update(
                    arn=self._arn("ecs", f"task-definition/{family}:1"),
                    arnWithoutRevision=self._arn("ecs", f"task-definition/{family}"),
                    revision=1,
                )
            case "aws:ecs/service:Service":
                out = {"name": physical, "id": self._arn("ecs", f"service/{physical}")}
            case "aws:iam/role:Role":
                out.update(
                    name=physical,
                    arn=self._arn("iam", f"role/{physical}").replace(f":{self.region}:", "::"),
                    uniqueId=f"AROA{h.upper()}",
                )
            case "aws:iam/policy:Policy":
                out.update(name=physical, arn=f"arn:aws:iam::{ACCOUNT_ID}:policy/{physical}")
            case "aws:cloudwatch/logGroup:LogGroup":
                out.update(name=physical, arn=self._arn("logs", f"log-group:{physical}"))
            case "aws:secretsmanager/secret:Secret":
                out.update(arn=self._arn("secretsmanager", f"secret:{physical}-{h[:6]}"))
                out["id"] = out["arn"]
            case "aws:rds/instance:Instance":
                address = f"{physical}.{h}.{self.region}.rds.amazonaws.com"
                port = int(inputs.get("port", 5432))
                out.update(
                    arn=self._arn("rds", f"db:{physical}"),
                    address=address,
                    endpoint=f"{address}:{port}",
                    port=port,
                    identifier=physical,
                    masterUserSecrets=[
                        {
                            "secretArn": self._arn("secretsmanager", f"secret:rds!db-{h}-AbCdEf"),
                            "kmsKeyId": self._arn("kms", f"key/{h}"),
                            "secretStatus": "active",
                        }
                    ],
                )
            case "aws:elasticache/replicationGroup:ReplicationGroup":
                out.update(
                    arn=self._arn("elasticache", f"replicationgroup:{name}"),
                    primaryEndpointAddress=f"master.{name}.{h}.use1.cache.amazonaws.com",
                    readerEndpointAddress=f"replica.{name}.{h}.use1.cache.amazonaws.com",
                )
            case "aws:efs/fileSystem:FileSystem":
                out.update(
                    id=f"fs-{h}",
                    arn=self._arn("elasticfilesystem", f"file-system/fs-{h}"),
                    dnsName=f"fs-{h}.efs.{self.region}.amazonaws.com",
                )
            case "aws:efs/accessPoint:AccessPoint":
                out.update(
                    id=f"fsap-{h}", arn=self._arn("elasticfilesystem", f"access-point/fsap-{h}")
                )
            case "aws:route53/record:Record":
                out = {"fqdn": str(inputs.get("name", name)).rstrip(".")}
            case "aws:kms/key:Key":
                out.update(arn=self._arn("kms", f"key/{h}"), keyId=h)
            case "aws:s3/bucketV2:BucketV2" | "aws:s3/bucket:Bucket":
                out.update(bucket=inputs.get("bucket", physical), arn=f"arn:aws:s3:::{physical}")
            case "random:index/randomPassword:RandomPassword":
                length = int(inputs.get("length", 32))
                out = {"result": ("x" + h) * (length // 9 + 1)}
                out["result"] = out["result"][:length]
            case _:
                pass
        return out

    # -- invokes ---------------------------------------------------------------------------

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:
        """Return results for the function calls the program makes; any other one raises."""
        token, inputs = args.token, dict(args.args)
        answer: dict[str, Any]
        match token:
            case "aws:index/getCallerIdentity:getCallerIdentity":
                answer = {
                    "accountId": ACCOUNT_ID,
                    "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/plan",
                    "userId": "AIDAPLAN",
                    "id": ACCOUNT_ID,
                }
            case "aws:index/getRegion:getRegion":
                answer = {"name": self.region, "region": self.region, "id": self.region}
            case "aws:index/getPartition:getPartition":
                answer = {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                names = [f"{self.region}{az}" for az in self.availability_zones]
                answer = {"names": names, "zoneIds": [f"use1-az{i}" for i in range(len(names))]}
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                answer = {
                    "userName": "AWS",
                    "password": "ecr-token",
                    "authorizationToken": "ecr-token",
                    "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com",
                }
            case "aws:route53/getZone:getZone":
                zone_name = str(inputs.get("name", "example.com")).rstrip(".")
                answer = {
                    "zoneId": f"Z{_short_hash(zone_name).upper()}EXAMPLE",
                    "name": zone_name,
                    "id": f"Z{_short_hash(zone_name).upper()}EXAMPLE",
                }
            case _ if token in self.extra_calls:
                answer = self.extra_calls[token](inputs)
            case _:
                raise UnmockedInvokeError(
                    f"no mock result for invoke {token} with {inputs}; "
                    "add one to RecordingMocks.call or extra_calls"
                )
        # A real preview already knows lookup results, so they are not marked as computed.
        # They are recorded apart, so a renderer can still flag them as mock data.
        with self._lock:
            self._remember_lookup(answer)
        return answer

    # -- queries for tests -----------------------------------------------------------------

    def of_type(self, typ: str) -> list[Recorded]:
        """Return every recorded resource of one type token, in registration order."""
        return [r for r in self.records if r.type == typ]

    def find(self, typ: str, name: str) -> Recorded:
        """Return the one recorded resource of this type and logical name; raise LookupError."""
        matches = [r for r in self.records if r.type == typ and r.name == name]
        if len(matches) != 1:
            known = sorted(r.name for r in self.of_type(typ))
            raise LookupError(
                f"expected one {typ} named {name!r}, found {len(matches)}; "
                f"names of that type: {known}"
            )
        return matches[0]

    def children_of(self, typ: str, name: str) -> Iterator[Recorded]:
        """Return the direct children of the resource with this type and name."""
        key = f"{typ}::{name}"
        return (r for r in self.records if r.parent == key)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that records each registration with its parent."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording_mocks = mocks
        self._urn_to_key: dict[str, str] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.recording_mocks._registering.parent = request.parent
        try:
            response = super().RegisterResource(request)
        finally:
            self.recording_mocks._registering.parent = ""
        if request.type == "pulumi:pulumi:Stack":
            return response
        parent = self._urn_to_key.get(request.parent) if request.parent else None
        registration = self.resources.get(response.urn)
        state = dict(registration.state) if registration else {}
        inputs = rpc.deserialize_properties(request.object)
        record = Recorded(
            type=request.type,
            name=request.name,
            parent=parent,
            inputs=dict(inputs),
            outputs=state,
            custom=bool(request.custom),
            urn=response.urn,
            id=(response.id or None) if request.custom else None,
            ignore_changes=tuple(request.ignoreChanges),
            protect=bool(request.protect),
        )
        with self.recording_mocks._lock:
            self._urn_to_key[response.urn] = f"{request.type}::{request.name}"
            self.recording_mocks.records.append(record)
        return response


def install(
    mocks: RecordingMocks, project: str = "webstack", stack: str = "test"
) -> RecordingMonitor:
    """Point the Pulumi runtime at the recording mocks (deploy mode, not preview).

    Preview mode leaves unreturned outputs unknown and skips dependent `apply` callbacks,
    so checks inside them would never run.
    """
    monitor = RecordingMonitor(mocks)
    # A fresh root stack per installation, so exports of an earlier run do not carry over.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    return monitor


def run(program: Callable[[], Any]) -> None:
    """Run `program` inside the mock runtime and wait until every registration finished."""
    from pulumi.runtime.stack import run_pulumi_func, wait_for_rpcs
    from pulumi.runtime.sync_await import _sync_await

    pulumi.runtime.settings.SETTINGS.rpc_manager.clear()
    pulumi.runtime.settings.SETTINGS.outputs.clear()

    def body() -> None:
        program()

    _sync_await(run_pulumi_func(body))
    _sync_await(wait_for_rpcs())
