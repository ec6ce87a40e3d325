"""TLS security policies an HTTPS listener may use.

Source: AWS Security Hub user guide, "Security Hub CSPM controls for Elastic Load Balancing",
control [ELB.17] "Application and Network Load Balancers with listeners should use recommended
security policies", parameter `sslPolicies` (not customizable). A listener with any other policy
fails that control. `ELBSecurityPolicy-TLS13-1-2-2021-06` was on an earlier version of the list
and is not on the current one, so it is not accepted here.
"""

DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
"""TLS 1.3 and 1.2 with restricted ciphers and post-quantum key exchange; the console's default
for new HTTPS listeners. A listener created through the API without a policy gets
`ELBSecurityPolicy-2016-08` instead (TLS 1.0 and 1.1 too), so the component always sets one."""

ALLOWED_SSL_POLICIES: frozenset[str] = frozenset(
    {
        # TLS 1.3 and 1.2, restricted ciphers.
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
        # TLS 1.3 only.
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
    }
)
"""Policies on the ELB.17 list."""
