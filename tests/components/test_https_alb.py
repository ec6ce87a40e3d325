"""Unit tests of the HttpsAlb component under the recording mocks."""

import dataclasses

import pytest

from components.errors import ComponentInputError
from components.https_alb import HttpsAlb, HttpsAlbArgs, target_group_name_prefix
from components.tls_policies import ALLOWED_SSL_POLICIES, DEFAULT_SSL_POLICY
from tests.components.resolve import resolve
from tools.mock_runtime import run

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
CERT = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "aws:route53/record:Record"
ALB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
COMPONENT = "webstack:lb:HttpsAlb"

ARGS = HttpsAlbArgs(
    vpc_id="vpc-0123456789abcdef0",
    public_subnet_ids=["subnet-0000000000000000a", "subnet-0000000000000000b"],
    domain_name="app.example.com",
    hosted_zone_id="Z0123456789EXAMPLEZONE",
    target_port=8000,
)


def build(args: HttpsAlbArgs = ARGS, name: str = "web") -> HttpsAlb:
    box: list[HttpsAlb] = []
    run(lambda: box.append(HttpsAlb(name, args)))
    return box[0]


# -- security group ----------------------------------------------------------------------------


def test_https_alb_sg_ingress_80_443_only(pulumi_mocks):
    build()

    sg_id = pulumi_mocks.find(SG, "web-sg").outputs["id"]
    rules = {
        (
            r.inputs["fromPort"],
            r.inputs["toPort"],
            r.inputs["ipProtocol"],
            r.inputs.get("cidrIpv4"),
            r.inputs.get("cidrIpv6"),
        )
        for r in pulumi_mocks.of_type(INGRESS)
    }
    assert rules == {
        (80, 80, "tcp", "0.0.0.0/0", None),
        (80, 80, "tcp", None, "::/0"),
        (443, 443, "tcp", "0.0.0.0/0", None),
        (443, 443, "tcp", None, "::/0"),
    }
    assert len(pulumi_mocks.of_type(INGRESS)) == 4
    assert {r.inputs["securityGroupId"] for r in pulumi_mocks.of_type(INGRESS)} == {sg_id}


def test_https_alb_sg_has_no_egress(pulumi_mocks):
    build()

    sg = pulumi_mocks.find(SG, "web-sg").inputs
    assert "egress" not in sg
    assert "ingress" not in sg
    assert pulumi_mocks.of_type(EGRESS) == []


def test_https_alb_sg_wiring(pulumi_mocks):
    build()

    sg = pulumi_mocks.find(SG, "web-sg")
    assert sg.inputs["vpcId"] == ARGS.vpc_id
    assert pulumi_mocks.find(ALB, "web-alb").inputs["securityGroups"] == [sg.outputs["id"]]


def test_https_alb_ingress_rule_names(pulumi_mocks):
    build()

    assert sorted(r.name for r in pulumi_mocks.of_type(INGRESS)) == [
        "web-sg-http-ipv4",
        "web-sg-http-ipv6",
        "web-sg-https-ipv4",
        "web-sg-https-ipv6",
    ]


# -- certificate -------------------------------------------------------------------------------


def test_https_alb_certificate_validated_by_dns(pulumi_mocks):
    build()

    cert = pulumi_mocks.find(CERT, "web-cert").inputs
    assert cert["domainName"] == "app.example.com"
    assert cert["validationMethod"] == "DNS"
    assert "subjectAlternativeNames" not in cert


def test_https_alb_validation_record_from_acm(pulumi_mocks):
    build()

    (option,) = pulumi_mocks.find(CERT, "web-cert").outputs["domainValidationOptions"]
    record = pulumi_mocks.find(RECORD, "web-validation-app.example.com").inputs
    assert option["domainName"] == "app.example.com"
    assert record["zoneId"] == ARGS.hosted_zone_id
    assert record["name"] == option["resourceRecordName"]
    assert record["type"] == option["resourceRecordType"] == "CNAME"
    assert record["records"] == [option["resourceRecordValue"]]
    assert record["ttl"] == 60
    assert record["allowOverwrite"] is False


def test_https_alb_option_matched_by_domain(pulumi_mocks, monkeypatch):
    # ACM lists one option per name; put another domain first to catch an index lookup.
    answer = pulumi_mocks._computed_outputs

    def computed(typ, name, inputs, parent=""):
        out = answer(typ, name, inputs, parent)
        if typ == CERT:
            decoy = {
                **out["domainValidationOptions"][0],
                "domainName": "other.example.com",
                "resourceRecordName": "_decoy.other.example.com.",
            }
            out["domainValidationOptions"] = [decoy, *out["domainValidationOptions"]]
        return out

    monkeypatch.setattr(pulumi_mocks, "_computed_outputs", computed)
    build()

    record = pulumi_mocks.find(RECORD, "web-validation-app.example.com").inputs
    assert record["name"].endswith(".app.example.com.")
    assert record["name"] != "_decoy.other.example.com."


def test_https_alb_missing_acm_option_fails(pulumi_mocks, monkeypatch):
    answer = pulumi_mocks._computed_outputs

    def computed(typ, name, inputs, parent=""):
        out = answer(typ, name, inputs, parent)
        if typ == CERT:
            out["domainValidationOptions"] = []
        return out

    monkeypatch.setattr(pulumi_mocks, "_computed_outputs", computed)
    with pytest.raises(ValueError, match=r"domain_name='app.example.com'; ACM returned no DNS"):
        build()


def test_https_alb_certificate_validation_uses_the_record(pulumi_mocks):
    build()

    validation = pulumi_mocks.find(VALIDATION, "web-cert-validation").inputs
    record = pulumi_mocks.find(RECORD, "web-validation-app.example.com").outputs
    cert = pulumi_mocks.find(CERT, "web-cert").outputs
    assert validation["certificateArn"] == cert["arn"]
    assert validation["validationRecordFqdns"] == [record["fqdn"]]


# -- load balancer -----------------------------------------------------------------------------


def test_https_alb_public_in_public_subnets(pulumi_mocks):
    build()

    alb = pulumi_mocks.find(ALB, "web-alb").inputs
    assert alb["loadBalancerType"] == "application"
    assert alb["internal"] is False
    assert alb["subnets"] == ARGS.public_subnet_ids
    assert alb["ipAddressType"] == "ipv4"
    assert "name" not in alb
    assert "namePrefix" not in alb


def test_https_alb_hardening_settings(pulumi_mocks):
    build()

    alb = pulumi_mocks.find(ALB, "web-alb").inputs
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["desyncMitigationMode"] == "defensive"
    assert alb["enableDeletionProtection"] is True
    assert alb["idleTimeout"] == 60


def test_https_alb_settings_come_from_args(pulumi_mocks):
    build(
        dataclasses.replace(
            ARGS, deletion_protection=False, idle_timeout_seconds=120, ip_address_type="dualstack"
        )
    )

    alb = pulumi_mocks.find(ALB, "web-alb").inputs
    assert alb["enableDeletionProtection"] is False
    assert alb["idleTimeout"] == 120
    assert alb["ipAddressType"] == "dualstack"


# -- target group ------------------------------------------------------------------------------


def test_https_alb_target_group_for_fargate_tasks(pulumi_mocks):
    build()

    tg = pulumi_mocks.find(TG, "web-tg").inputs
    assert tg["targetType"] == "ip"
    assert tg["protocol"] == "HTTP"
    assert tg["port"] == ARGS.target_port
    assert tg["vpcId"] == ARGS.vpc_id
    assert tg["deregistrationDelay"] == 30
    assert tg["namePrefix"] == "web-"
    assert "name" not in tg


def test_https_alb_target_group_health_check(pulumi_mocks):
    build()

    assert pulumi_mocks.find(TG, "web-tg").inputs["healthCheck"] == {
        "enabled": True,
        "protocol": "HTTP",
        "port": "traffic-port",
        "path": "/api/health",
        "matcher": "200",
        "interval": 10,
        "timeout": 5,
        "healthyThreshold": 2,
        "unhealthyThreshold": 3,
    }


def test_https_alb_target_group_follows_args(pulumi_mocks):
    build(
        dataclasses.replace(
            ARGS, target_port=9090, health_check_path="/healthz", deregistration_delay_seconds=0
        )
    )

    tg = pulumi_mocks.find(TG, "web-tg").inputs
    assert tg["port"] == 9090
    assert tg["healthCheck"]["path"] == "/healthz"
    assert tg["deregistrationDelay"] == 0


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("web", "web-"),
        ("a", "a-"),
        ("webstack-prod", "webst-"),
        ("ab-cdef", "ab-cd-"),
        ("abcd-ef", "abcd-"),
    ],
)
def test_target_group_prefix_has_at_most_6_characters(name, prefix):
    assert target_group_name_prefix(name) == prefix
    assert len(prefix) <= 6


# -- listeners ---------------------------------------------------------------------------------


def test_https_alb_https_uses_validated_cert(pulumi_mocks, monkeypatch):
    # AWS returns the certificate's own ARN from the validation; mark it here, so the test
    # distinguishes the validation's output (which waits for issuance) from the certificate's.
    answer = pulumi_mocks._computed_outputs

    def computed(typ, name, inputs, parent=""):
        out = answer(typ, name, inputs, parent)
        if typ == VALIDATION:
            out["certificateArn"] = inputs["certificateArn"] + "#validated"
        return out

    monkeypatch.setattr(pulumi_mocks, "_computed_outputs", computed)
    alb = build()

    listener = pulumi_mocks.find(LISTENER, "web-https").inputs
    cert_arn = pulumi_mocks.find(CERT, "web-cert").outputs["arn"]
    assert listener["certificateArn"] == cert_arn + "#validated"
    assert resolve(alb.certificate_arn) == cert_arn + "#validated"


def test_https_alb_https_port_and_policy(pulumi_mocks):
    build()

    listener = pulumi_mocks.find(LISTENER, "web-https").inputs
    assert listener["port"] == 443
    assert listener["protocol"] == "HTTPS"
    assert listener["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"


def test_https_alb_https_forwards_to_tg(pulumi_mocks):
    build()

    listener = pulumi_mocks.find(LISTENER, "web-https").inputs
    tg = pulumi_mocks.find(TG, "web-tg").outputs
    alb = pulumi_mocks.find(ALB, "web-alb").outputs
    assert listener["loadBalancerArn"] == alb["arn"]
    assert listener["defaultActions"] == [{"type": "forward", "targetGroupArn": tg["arn"]}]


def test_https_alb_redirects_http_to_https_with_301(pulumi_mocks):
    build()

    listener = pulumi_mocks.find(LISTENER, "web-http").inputs
    alb = pulumi_mocks.find(ALB, "web-alb").outputs
    assert listener["loadBalancerArn"] == alb["arn"]
    assert listener["port"] == 80
    assert listener["protocol"] == "HTTP"
    assert "sslPolicy" not in listener
    assert "certificateArn" not in listener
    assert listener["defaultActions"] == [
        {
            "type": "redirect",
            "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
        }
    ]


def test_https_alb_ssl_policy_from_args(pulumi_mocks):
    build(dataclasses.replace(ARGS, ssl_policy="ELBSecurityPolicy-TLS13-1-3-PQ-2025-09"))

    listener = pulumi_mocks.find(LISTENER, "web-https").inputs
    assert listener["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09"


# -- outputs and tree --------------------------------------------------------------------------


def test_https_alb_outputs_come_from_the_children(pulumi_mocks):
    alb = build()

    lb = pulumi_mocks.find(ALB, "web-alb").outputs
    tg = pulumi_mocks.find(TG, "web-tg").outputs
    assert resolve(alb.load_balancer_arn) == lb["arn"]
    assert resolve(alb.load_balancer_arn_suffix) == lb["arnSuffix"]
    assert resolve(alb.dns_name) == lb["dnsName"]
    assert resolve(alb.zone_id) == lb["zoneId"]
    assert resolve(alb.security_group_id) == pulumi_mocks.find(SG, "web-sg").outputs["id"]
    assert resolve(alb.target_group_arn) == tg["arn"]
    assert resolve(alb.target_group_arn_suffix) == tg["arnSuffix"]
    assert (
        resolve(alb.https_listener_arn) == pulumi_mocks.find(LISTENER, "web-https").outputs["arn"]
    )
    assert resolve(alb.certificate_arn) == pulumi_mocks.find(CERT, "web-cert").outputs["arn"]


def test_https_alb_children_have_the_component_as_parent(pulumi_mocks):
    build()

    children = {(r.type, r.name) for r in pulumi_mocks.children_of(COMPONENT, "web")}
    assert children == {
        (SG, "web-sg"),
        (INGRESS, "web-sg-http-ipv4"),
        (INGRESS, "web-sg-http-ipv6"),
        (INGRESS, "web-sg-https-ipv4"),
        (INGRESS, "web-sg-https-ipv6"),
        (CERT, "web-cert"),
        (RECORD, "web-validation-app.example.com"),
        (VALIDATION, "web-cert-validation"),
        (ALB, "web-alb"),
        (TG, "web-tg"),
        (LISTENER, "web-https"),
        (LISTENER, "web-http"),
    }


# -- validation --------------------------------------------------------------------------------


def test_default_ssl_policy_is_allowed():
    assert DEFAULT_SSL_POLICY in ALLOWED_SSL_POLICIES
    assert "ELBSecurityPolicy-TLS13-1-2-2021-06" not in ALLOWED_SSL_POLICIES
    assert "ELBSecurityPolicy-2016-08" not in ALLOWED_SSL_POLICIES


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"domain_name": "https://app.example.com"}, r"domain_name=.*remove the scheme"),
        ({"domain_name": "app.example.com."}, r"domain_name=.*drop the final"),
        ({"target_port": 0}, r"target_port=0; expected a whole number from 1 to 65535"),
        ({"target_port": 65536}, r"target_port=65536"),
        ({"target_port": "8000"}, r"target_port='8000'"),
        ({"health_check_path": "api/health"}, r"health_check_path='api/health'; .*start"),
        ({"health_check_path": "/api health"}, r"health_check_path="),
        ({"health_check_path": "/" + "a" * 1024}, r"at most 1024"),
        ({"ssl_policy": "ELBSecurityPolicy-2016-08"}, r"ssl_policy=.*ELB\.17"),
        ({"ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}, r"ssl_policy="),
        ({"idle_timeout_seconds": 0}, r"idle_timeout_seconds=0; .*from 1 to 4000"),
        ({"idle_timeout_seconds": 4001}, r"idle_timeout_seconds=4001"),
        ({"deregistration_delay_seconds": -1}, r"deregistration_delay_seconds=-1; .*0 to 3600"),
        ({"deregistration_delay_seconds": 3601}, r"deregistration_delay_seconds=3601"),
        ({"deletion_protection": "no"}, r"deletion_protection='no'"),
        ({"ip_address_type": "ipv6"}, r"ip_address_type='ipv6'"),
    ],
)
def test_https_alb_rejects_invalid_args(pulumi_mocks, change, message):
    with pytest.raises(ComponentInputError, match=message):
        build(dataclasses.replace(ARGS, **change))

    assert pulumi_mocks.records == []


@pytest.mark.parametrize(
    "name", ["a" * 21, "-web", "web-", "web_app", "internal-web", "Internal-web", ""]
)
def test_https_alb_rejects_long_names(pulumi_mocks, name):
    with pytest.raises(ComponentInputError, match=r"HttpsAlb: invalid name=.*at most 32"):
        build(name=name)


def test_https_alb_longest_name_fits(pulumi_mocks):
    build(name="a" * 20)

    # Pulumi appends "-" and 7 random characters to the logical name.
    assert len(pulumi_mocks.find(ALB, "a" * 20 + "-alb").name) + 8 == 32


@pytest.mark.parametrize(
    ("argument", "low", "high"),
    [
        ("target_port", 1, 65535),
        ("idle_timeout_seconds", 1, 4000),
        ("deregistration_delay_seconds", 0, 3600),
    ],
)
def test_https_alb_accepts_range_boundaries(pulumi_mocks, argument, low, high):
    build(dataclasses.replace(ARGS, **{argument: low}))
    build(dataclasses.replace(ARGS, **{argument: high}), name="web2")

    assert len(pulumi_mocks.of_type(ALB)) == 2
