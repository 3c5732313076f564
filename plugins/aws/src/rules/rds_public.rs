//! `aws/rds-public`: databases must not be reachable from the internet.

use palisade_sdk::aws::rds;
use palisade_sdk::{Report, Resource, Rule, Severity};

pub const RULE: Rule = Rule {
    id: "aws/rds-public",
    title: "RDS instance publicly accessible",
    severity: Severity::High,
    kinds: rds::INSTANCE_KINDS,
    description: "A publicly accessible DB instance gets a DNS name that resolves to a public \
IP address, so the only thing between the internet and the database is its security group and \
its password. One permissive ingress rule, or a leaked or weak credential, then exposes the \
data directly. Databases belong in private subnets, reached by the application over the VPC. \
This rule judges `aws_db_instance` and `aws_rds_cluster_instance` (Terraform) and \
`AWS::RDS::DBInstance` (CloudFormation) and fires when `publicly_accessible` / \
`PubliclyAccessible` is `true`, pointing at that setting. Terraform sends `false` when the \
setting is left out; CloudFormation leaves it to AWS, which makes the instance public when its \
VPC has an internet gateway, so an unset `PubliclyAccessible` is not judged (set it explicitly \
to `false`). Values not known statically are not judged.",
    remediation: "Turn public access off and place the instance in private subnets:\n
```hcl
resource \"aws_db_instance\" \"orders\" {
  # …
  publicly_accessible  = false
  db_subnet_group_name = aws_db_subnet_group.private.name
}
```\n
Reach the database from outside through a bastion, VPN or Session Manager port forwarding.",
    help_uri: Some(
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html#USER_VPC.Hiding",
    ),
    tags: &[
        "cis-aws/2.3.3",
        "aws-foundational/RDS.2",
        "cwe/284",
        "network",
    ],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(database) = rds::database(resource) else {
        return;
    };
    if database.is_public() == Some(true) {
        report.finding(
            database.publicly_accessible.pointer,
            "the DB instance is publicly accessible: it has a public IP address reachable \
             from the internet",
        );
    }
}
