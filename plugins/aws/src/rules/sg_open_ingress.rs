//! `aws/sg-open-ingress`: security groups must not open administration or database ports to
//! the internet.

use palisade_sdk::aws::ec2::{self, IngressRule, Protocol};
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/sg-open-ingress",
    title: "Security group open to the internet on a sensitive port",
    severity: Severity::High,
    kinds: ec2::SECURITY_GROUP_KINDS,
    description: "An ingress rule from `0.0.0.0/0` or `::/0` lets every host on the internet \
connect. For remote administration (SSH 22, RDP 3389, Telnet 23, SMB 445, the Docker API \
2375/2376) and for datastores (MySQL 3306, PostgreSQL 5432, SQL Server 1433, Oracle 1521, \
Redshift 5439, MongoDB 27017, Redis 6379, Elasticsearch 9200/9300, Cassandra 9042, memcached \
11211) that means constant credential stuffing, exploitation of the service's next CVE within \
hours, and data theft or ransom when a password is weak or missing. This rule reads every \
ingress rule where it is written: `ingress` blocks of `aws_security_group` and \
`aws_default_security_group`, `aws_security_group_rule` with `type = \"ingress\"`, \
`aws_vpc_security_group_ingress_rule` (Terraform AWS provider v5), the `SecurityGroupIngress` \
list of `AWS::EC2::SecurityGroup` and `AWS::EC2::SecurityGroupIngress`. It fires for each \
internet-wide CIDR of a rule whose TCP port range covers one of those ports (UDP for RDP and \
memcached), pointing at that CIDR. A rule open on every port (protocol `-1`, or the whole TCP \
or UDP range) is reported as critical. CIDRs, ports and protocols that are not known \
statically are not judged, and neither are sources that are security groups or prefix lists.",
    remediation: "Allow only the addresses that need the port, and put administration behind a \
bastion, VPN or AWS Systems Manager Session Manager:\n
```hcl
resource \"aws_vpc_security_group_ingress_rule\" \"ssh\" {
  security_group_id = aws_security_group.admin.id
  cidr_ipv4         = \"10.20.0.0/16\" # the VPN's range
  ip_protocol       = \"tcp\"
  from_port         = 22
  to_port           = 22
}
```\n
Databases should accept connections only from the application's security group \
(`referenced_security_group_id`, `SourceSecurityGroupId`).",
    help_uri: Some(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-19",
    ),
    tags: &[
        "cis-aws/5.2",
        "cis-aws/5.3",
        "aws-foundational/EC2.19",
        "cwe/284",
        "network",
    ],
    check,
};

/// A service that must not face the internet: its port, its name, and whether it also listens
/// on UDP.
struct Service {
    port: u16,
    name: &'static str,
    udp: bool,
}

const SERVICES: &[Service] = &[
    Service {
        port: 22,
        name: "SSH",
        udp: false,
    },
    Service {
        port: 23,
        name: "Telnet",
        udp: false,
    },
    Service {
        port: 445,
        name: "SMB",
        udp: false,
    },
    Service {
        port: 1433,
        name: "SQL Server",
        udp: false,
    },
    Service {
        port: 1521,
        name: "Oracle",
        udp: false,
    },
    Service {
        port: 2375,
        name: "Docker API",
        udp: false,
    },
    Service {
        port: 2376,
        name: "Docker API (TLS)",
        udp: false,
    },
    Service {
        port: 3306,
        name: "MySQL",
        udp: false,
    },
    Service {
        port: 3389,
        name: "RDP",
        udp: true,
    },
    Service {
        port: 5432,
        name: "PostgreSQL",
        udp: false,
    },
    Service {
        port: 5439,
        name: "Redshift",
        udp: false,
    },
    Service {
        port: 6379,
        name: "Redis",
        udp: false,
    },
    Service {
        port: 9042,
        name: "Cassandra",
        udp: false,
    },
    Service {
        port: 9200,
        name: "Elasticsearch",
        udp: false,
    },
    Service {
        port: 9300,
        name: "Elasticsearch transport",
        udp: false,
    },
    Service {
        port: 11211,
        name: "memcached",
        udp: true,
    },
    Service {
        port: 27017,
        name: "MongoDB",
        udp: false,
    },
];

fn check(resource: &Resource, report: &mut Report) {
    for rule in ec2::ingress_rules(resource) {
        let Some(exposure) = exposure(&rule) else {
            continue;
        };
        for (cidr, block) in rule.internet_sources() {
            match &exposure {
                Exposure::Everything(what) => report.finding_with_severity(
                    cidr.pointer.clone(),
                    format!("ingress from `{block}` is open on {what}"),
                    Severity::Critical,
                ),
                Exposure::Services(names) => report.finding(
                    cidr.pointer.clone(),
                    format!("ingress from `{block}` reaches {names}"),
                ),
            }
        }
    }
}

/// What an ingress rule opens that matters here.
enum Exposure {
    /// Every port: "every port and protocol", "every TCP port".
    Everything(&'static str),
    /// Some sensitive services, named for the message: "SSH (22), RDP (3389)".
    Services(String),
}

/// What `rule` opens, when it opens something sensitive and that is known.
fn exposure(rule: &IngressRule) -> Option<Exposure> {
    if rule.opens_everything()? {
        return Some(Exposure::Everything(match rule.protocol()? {
            Protocol::Tcp => "every TCP port",
            Protocol::Udp => "every UDP port",
            _ => "every port and protocol",
        }));
    }
    let reached: Vec<String> = SERVICES
        .iter()
        .filter(|service| {
            rule.reaches(Protocol::Tcp, service.port) == Some(true)
                || (service.udp && rule.reaches(Protocol::Udp, service.port) == Some(true))
        })
        .map(|service| format!("{} ({})", service.name, service.port))
        .collect();
    (!reached.is_empty()).then(|| Exposure::Services(reached.join(", ")))
}

#[cfg(test)]
mod tests {
    use palisade_sdk::Severity;
    use palisade_sdk::testing::run_text;

    use crate::Aws;

    const TEMPLATE: &str = "\
AWSTemplateFormatVersion: \"2010-09-09\"
Resources:
  Group:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: test
      SecurityGroupIngress:
        - IpProtocol: \"-1\"
          CidrIp: 0.0.0.0/0
        - IpProtocol: tcp
          FromPort: 0
          ToPort: 65535
          CidrIpv6: ::/0
        - IpProtocol: tcp
          FromPort: 1000
          ToPort: 2000
          CidrIp: 0.0.0.0/0
        - IpProtocol: tcp
          FromPort: 8080
          ToPort: 8080
          CidrIp: 0.0.0.0/0
";

    #[test]
    fn everything_open_is_critical_and_services_are_named() {
        let findings = run_text::<Aws>("template.yaml", TEMPLATE, "{}").expect("a template");
        let found: Vec<_> = findings
            .iter()
            .filter(|f| f.rule == super::RULE.id)
            .map(|f| (f.line, f.severity, f.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    9,
                    Some(Severity::Critical),
                    "ingress from `0.0.0.0/0` is open on every port and protocol"
                ),
                (
                    13,
                    Some(Severity::Critical),
                    "ingress from `::/0` is open on every TCP port"
                ),
                (
                    17,
                    None,
                    "ingress from `0.0.0.0/0` reaches SQL Server (1433), Oracle (1521)"
                ),
            ]
        );
    }
}
