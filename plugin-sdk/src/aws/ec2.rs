//! EC2: security group ingress rules, EBS volumes and instance metadata options.
//!
//! Each view reads Terraform (HCL or plan) and CloudFormation alike:
//!
//! - [`ingress_rules`]: every ingress rule a resource writes, whether inline
//!   (`aws_security_group.ingress`, `AWS::EC2::SecurityGroup.SecurityGroupIngress`) or as a
//!   resource of its own (`aws_security_group_rule` with `type = "ingress"`,
//!   `aws_vpc_security_group_ingress_rule`, `AWS::EC2::SecurityGroupIngress`). A rule is judged
//!   where it is written, so no join between resources is needed.
//! - [`volumes`]: every EBS volume a resource declares (`aws_ebs_volume`, an instance's root and
//!   attached devices, a launch template's block device mappings, and the CloudFormation
//!   equivalents), with its `encrypted` setting.
//! - [`metadata_options`]: the instance metadata service settings of an instance or launch
//!   template (IMDSv2 or not).
//!
//! A setting the configuration leaves out reads as absent, in a plan too: Terraform prints a
//! value the provider computes when it is not configured as "known after apply"
//! (`{"$unknown": "known after apply"}`), and for the settings read here that only happens when
//! the configuration does not set them. Any other unknown value stays unknown.

use super::{Field, known_i64, known_str};
use crate::{Resource, Value};

/// Kinds that declare security group ingress rules.
pub const SECURITY_GROUP_KINDS: &[&str] = &[
    "terraform/aws_security_group",
    "terraform/aws_default_security_group",
    "terraform/aws_security_group_rule",
    "terraform/aws_vpc_security_group_ingress_rule",
    "cloudformation/AWS::EC2::SecurityGroup",
    "cloudformation/AWS::EC2::SecurityGroupIngress",
];

/// Kinds that declare EBS volumes, and the Terraform account setting that encrypts them all
/// (see [`encrypted_by_default`]).
pub const VOLUME_KINDS: &[&str] = &[
    "terraform/aws_ebs_volume",
    "terraform/aws_instance",
    "terraform/aws_launch_template",
    "terraform/aws_ebs_encryption_by_default",
    "cloudformation/AWS::EC2::Volume",
    "cloudformation/AWS::EC2::Instance",
    "cloudformation/AWS::EC2::LaunchTemplate",
];

/// Kinds that decide an instance's metadata service settings.
pub const METADATA_KINDS: &[&str] = &[
    "terraform/aws_instance",
    "terraform/aws_launch_template",
    "cloudformation/AWS::EC2::Instance",
    "cloudformation/AWS::EC2::LaunchTemplate",
];

/// The reason the plan normalizer gives a value Terraform only learns during apply.
const KNOWN_AFTER_APPLY: &str = "known after apply";

/// `field`, read as absent when it is a plan's "known after apply": what Terraform prints for an
/// optional setting the provider computes because the configuration leaves it out.
pub(super) fn configured(field: Field<'_>) -> Field<'_> {
    if field.value.get("$unknown").as_str() == Some(KNOWN_AFTER_APPLY) {
        Field {
            value: &crate::NULL,
            pointer: field.pointer,
        }
    } else {
        field
    }
}

/// A setting the configuration leaves out, which would be written at `pointer`.
fn absent(pointer: &str) -> Field<'static> {
    Field {
        value: &crate::NULL,
        pointer: pointer.to_owned(),
    }
}

/// The objects of a Terraform nested block (`[{…}]`), each with its pointer; none when the
/// block is absent or not known.
fn blocks<'a>(resource: &Resource<'a>, name: &str) -> Vec<Field<'a>> {
    Field::at(resource, crate::pointer::join("", &[name]))
        .elements()
        .filter(|block| block.value.is_object())
        .collect()
}

/// True when a Terraform nested block is neither written nor known to be there: absent, an
/// empty list, or a plan's "known after apply".
fn block_absent(resource: &Resource<'_>, name: &str) -> bool {
    let field = configured(Field::at(resource, crate::pointer::join("", &[name])));
    field.is_absent() || field.value.as_array().is_some_and(|a| a.is_empty())
}

/// The IP protocol of an ingress rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `-1` (or Terraform's `all`): every protocol and every port.
    All,
    Tcp,
    Udp,
    /// ICMP, ICMPv6 or another protocol without ports.
    Other,
}

impl Protocol {
    /// Reads `-1`, `all`, `tcp`, `udp`, `icmp`… or a protocol number, as AWS accepts them.
    pub fn parse(value: &Value<'_>) -> Option<Protocol> {
        if let Some(number) = known_i64(value) {
            return Some(match number {
                -1 => Protocol::All,
                6 => Protocol::Tcp,
                17 => Protocol::Udp,
                _ => Protocol::Other,
            });
        }
        let name = known_str(value)?.trim();
        Some(if name.eq_ignore_ascii_case("all") {
            Protocol::All
        } else if name.eq_ignore_ascii_case("tcp") {
            Protocol::Tcp
        } else if name.eq_ignore_ascii_case("udp") {
            Protocol::Udp
        } else {
            Protocol::Other
        })
    }
}

/// One ingress rule: what it lets in, from where.
#[derive(Debug, Clone)]
pub struct IngressRule<'a> {
    /// The rule's object: an inline block or list element, or the resource's settings.
    pub pointer: String,
    pub protocol: Field<'a>,
    pub from_port: Field<'a>,
    pub to_port: Field<'a>,
    /// Every CIDR source, IPv4 and IPv6, each element with its own pointer.
    pub cidrs: Vec<Field<'a>>,
}

impl<'a> IngressRule<'a> {
    /// The rule's protocol, when known.
    pub fn protocol(&self) -> Option<Protocol> {
        Protocol::parse(self.protocol.value)
    }

    /// The ports the rule opens for its protocol: every port for protocol `-1`, the
    /// `from`–`to` range for TCP and UDP (a `-1` bound meaning every port), nothing for
    /// protocols without ports. `None` when not known.
    pub fn ports(&self) -> Option<Option<(u16, u16)>> {
        match self.protocol()? {
            Protocol::All => Some(Some((0, u16::MAX))),
            Protocol::Other => Some(None),
            Protocol::Tcp | Protocol::Udp => {
                let from = self.from_port.as_i64()?;
                let to = self.to_port.as_i64()?;
                if from == -1 || to == -1 {
                    return Some(Some((0, u16::MAX)));
                }
                let from = u16::try_from(from).ok()?;
                let to = u16::try_from(to).ok()?;
                Some((from <= to).then_some((from, to)))
            }
        }
    }

    /// True when the rule lets `protocol` (TCP or UDP) reach `port`; `None` when not known.
    pub fn reaches(&self, protocol: Protocol, port: u16) -> Option<bool> {
        let own = self.protocol()?;
        if own != Protocol::All && own != protocol {
            return Some(false);
        }
        Some(
            self.ports()?
                .is_some_and(|(from, to)| (from..=to).contains(&port)),
        )
    }

    /// True when the rule lets in every protocol, or every TCP or UDP port; `None` when not
    /// known.
    pub fn opens_everything(&self) -> Option<bool> {
        Some(
            self.ports()?
                .is_some_and(|(from, to)| from <= 1 && to == u16::MAX),
        )
    }

    /// The CIDR sources known to be the whole internet (`0.0.0.0/0`, `::/0`).
    pub fn internet_sources(&self) -> impl Iterator<Item = (&Field<'a>, &'a str)> + '_ {
        self.cidrs
            .iter()
            .filter_map(|cidr| cidr.as_str().filter(|c| is_internet(c)).map(|c| (cidr, c)))
    }
}

/// True for a CIDR block that holds every address: any address with prefix length 0
/// (`0.0.0.0/0`, `::/0`; AWS reads `10.0.0.0/0` the same).
pub fn is_internet(cidr: &str) -> bool {
    cidr.trim()
        .rsplit_once('/')
        .is_some_and(|(address, prefix)| !address.is_empty() && prefix.trim() == "0")
}

/// Every ingress rule `resource` writes (see the module docs); none for other kinds, for
/// egress rules, and for rules whose direction is not known.
pub fn ingress_rules<'a>(resource: &Resource<'a>) -> Vec<IngressRule<'a>> {
    match resource.kind {
        "terraform/aws_security_group" | "terraform/aws_default_security_group" => {
            blocks(resource, "ingress")
                .into_iter()
                .map(|block| terraform_rule(&block))
                .collect()
        }
        "terraform/aws_security_group_rule" => {
            let root = Field::at(resource, "");
            if root.member("type").as_str() == Some("ingress") {
                vec![terraform_rule(&root)]
            } else {
                Vec::new()
            }
        }
        "terraform/aws_vpc_security_group_ingress_rule" => {
            let root = Field::at(resource, "");
            vec![IngressRule {
                pointer: String::new(),
                protocol: root.member("ip_protocol"),
                from_port: root.member("from_port"),
                to_port: root.member("to_port"),
                cidrs: [root.member("cidr_ipv4"), root.member("cidr_ipv6")]
                    .into_iter()
                    .filter(|cidr| !cidr.is_absent())
                    .collect(),
            }]
        }
        "cloudformation/AWS::EC2::SecurityGroup" => Field::at(resource, "/properties")
            .member("SecurityGroupIngress")
            .elements()
            .filter(|rule| rule.value.is_object())
            .map(|rule| cloudformation_rule(&rule))
            .collect(),
        "cloudformation/AWS::EC2::SecurityGroupIngress" => {
            vec![cloudformation_rule(&Field::at(resource, "/properties"))]
        }
        _ => Vec::new(),
    }
}

/// An inline `ingress` block or an `aws_security_group_rule`: same argument names.
fn terraform_rule<'a>(rule: &Field<'a>) -> IngressRule<'a> {
    let cidrs = ["cidr_blocks", "ipv6_cidr_blocks"]
        .iter()
        .flat_map(|key| rule.member(key).elements().collect::<Vec<_>>())
        .collect();
    IngressRule {
        pointer: rule.pointer.clone(),
        protocol: rule.member("protocol"),
        from_port: rule.member("from_port"),
        to_port: rule.member("to_port"),
        cidrs,
    }
}

/// An element of `SecurityGroupIngress` or the properties of `AWS::EC2::SecurityGroupIngress`.
fn cloudformation_rule<'a>(rule: &Field<'a>) -> IngressRule<'a> {
    IngressRule {
        pointer: rule.pointer.clone(),
        protocol: rule.member("IpProtocol"),
        from_port: rule.member("FromPort"),
        to_port: rule.member("ToPort"),
        cidrs: [rule.member("CidrIp"), rule.member("CidrIpv6")]
            .into_iter()
            .filter(|cidr| !cidr.is_absent())
            .collect(),
    }
}

/// Where an EBS volume is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeRole {
    /// A volume of its own (`aws_ebs_volume`, `AWS::EC2::Volume`).
    Standalone,
    /// An instance's root volume (`root_block_device`, or an instance without block device
    /// mappings, whose root volume comes from the AMI).
    Root,
    /// A device mapping of an instance or launch template, with its device name when known.
    Device(Option<String>),
}

/// One EBS volume and its encryption setting.
#[derive(Debug, Clone)]
pub struct Volume<'a> {
    /// Where the volume is declared: the resource, or its block or mapping (a finding about a
    /// setting the volume leaves out goes here).
    pub pointer: String,
    pub role: VolumeRole,
    /// `encrypted` / `Encrypted`; absent when the configuration does not set it.
    pub encrypted: Field<'a>,
    /// True when the volume is made from a snapshot, whose encryption it inherits when
    /// `encrypted` is not set.
    pub from_snapshot: bool,
}

impl Volume<'_> {
    /// Whether the volume is encrypted: the `encrypted` setting, else `false` (AWS's default
    /// without account-level encryption by default); `None` when not known, or when the
    /// volume inherits a snapshot's encryption.
    pub fn is_encrypted(&self) -> Option<bool> {
        if self.encrypted.is_absent() {
            return (!self.from_snapshot).then_some(false);
        }
        self.encrypted.as_bool()
    }

    /// A short description for messages: `the volume`, `the root volume`, `device /dev/sdf`.
    pub fn describe(&self) -> String {
        match &self.role {
            VolumeRole::Standalone => "the volume".to_owned(),
            VolumeRole::Root => "the root volume".to_owned(),
            VolumeRole::Device(Some(name)) => format!("device `{name}`"),
            VolumeRole::Device(None) => "a mapped device".to_owned(),
        }
    }
}

/// Every EBS volume `resource` declares (see [`VolumeRole`]). An instance launched from a
/// launch template without its own devices declares none: the template does, and is judged.
/// A launch template without block device mappings declares none either: its instances get the
/// AMI's, decided where the template is used.
pub fn volumes<'a>(resource: &Resource<'a>) -> Vec<Volume<'a>> {
    match resource.kind {
        "terraform/aws_ebs_volume" => {
            let root = Field::at(resource, "");
            vec![Volume {
                pointer: String::new(),
                role: VolumeRole::Standalone,
                encrypted: configured(root.member("encrypted")),
                from_snapshot: has_value(&root.member("snapshot_id")),
            }]
        }
        "terraform/aws_instance" => {
            let mut volumes = Vec::new();
            let root_blocks = blocks(resource, "root_block_device");
            if let Some(block) = root_blocks.first() {
                volumes.push(Volume {
                    pointer: block.pointer.clone(),
                    role: VolumeRole::Root,
                    encrypted: configured(block.member("encrypted")),
                    from_snapshot: false,
                });
            } else if block_absent(resource, "root_block_device")
                && block_absent(resource, "launch_template")
            {
                volumes.push(Volume {
                    pointer: String::new(),
                    role: VolumeRole::Root,
                    encrypted: absent("/root_block_device"),
                    from_snapshot: false,
                });
            }
            for block in blocks(resource, "ebs_block_device") {
                volumes.push(Volume {
                    role: VolumeRole::Device(block.member("device_name").as_str().map(Into::into)),
                    encrypted: configured(block.member("encrypted")),
                    from_snapshot: has_value(&block.member("snapshot_id")),
                    pointer: block.pointer,
                });
            }
            volumes
        }
        "terraform/aws_launch_template" => blocks(resource, "block_device_mappings")
            .into_iter()
            .flat_map(|mapping| {
                let device = mapping.member("device_name").as_str().map(Into::into);
                mapping
                    .member("ebs")
                    .elements()
                    .filter(|ebs| ebs.value.is_object())
                    .map(|ebs| {
                        let encrypted = configured(ebs.member("encrypted"));
                        Volume {
                            role: VolumeRole::Device(device.clone()),
                            // The provider writes an unset `encrypted` as "".
                            encrypted: if encrypted.as_str() == Some("") {
                                absent(&encrypted.pointer)
                            } else {
                                encrypted
                            },
                            from_snapshot: has_value(&ebs.member("snapshot_id")),
                            pointer: ebs.pointer,
                        }
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
        "cloudformation/AWS::EC2::Volume" => {
            let properties = Field::at(resource, "/properties");
            vec![Volume {
                pointer: String::new(),
                role: VolumeRole::Standalone,
                encrypted: properties.member("Encrypted"),
                from_snapshot: has_value(&properties.member("SnapshotId")),
            }]
        }
        "cloudformation/AWS::EC2::Instance" => {
            let properties = Field::at(resource, "/properties");
            let mappings = properties.member("BlockDeviceMappings");
            if mappings.is_absent() && properties.member("LaunchTemplate").is_absent() {
                return vec![Volume {
                    pointer: String::new(),
                    role: VolumeRole::Root,
                    encrypted: mappings,
                    from_snapshot: false,
                }];
            }
            cloudformation_mappings(&mappings)
        }
        "cloudformation/AWS::EC2::LaunchTemplate" => cloudformation_mappings(&Field::at(
            resource,
            "/properties/LaunchTemplateData/BlockDeviceMappings",
        )),
        _ => Vec::new(),
    }
}

/// The EBS volumes of a CloudFormation `BlockDeviceMappings` list.
fn cloudformation_mappings<'a>(mappings: &Field<'a>) -> Vec<Volume<'a>> {
    mappings
        .elements()
        .filter_map(|mapping| {
            let ebs = mapping.member("Ebs");
            ebs.value.is_object().then(|| Volume {
                role: VolumeRole::Device(mapping.member("DeviceName").as_str().map(Into::into)),
                encrypted: ebs.member("Encrypted"),
                from_snapshot: has_value(&ebs.member("SnapshotId")),
                pointer: ebs.pointer,
            })
        })
        .collect()
}

/// True when the configuration sets `field` to something other than an empty string.
pub(super) fn has_value(field: &Field<'_>) -> bool {
    let field = configured(field.clone());
    !field.is_absent() && field.as_str() != Some("")
}

/// True when `batch` turns on EBS encryption by default for the account and region: an
/// `aws_ebs_encryption_by_default` whose `enabled` is `true` or left at its default (`true`).
/// New volumes are then encrypted whatever they say. CloudFormation has no such resource.
pub fn encrypted_by_default(batch: &[Resource<'_>]) -> bool {
    batch
        .iter()
        .filter(|r| r.kind == "terraform/aws_ebs_encryption_by_default")
        .any(|r| {
            let enabled = configured(Field::at(r, "/enabled"));
            enabled.is_absent() || enabled.as_bool() == Some(true)
        })
}

/// An instance's or launch template's instance metadata service settings.
#[derive(Debug, Clone)]
pub struct MetadataOptions<'a> {
    /// Where the settings belong: the `metadata_options` block or `MetadataOptions` object
    /// when written, else the resource (a finding about what is left out goes here).
    pub pointer: String,
    /// `http_tokens` / `HttpTokens`: `required` for IMDSv2 only.
    pub http_tokens: Field<'a>,
    /// `http_endpoint` / `HttpEndpoint`: `disabled` turns the service off.
    pub http_endpoint: Field<'a>,
    /// True for a CloudFormation instance: it has no metadata settings of its own, only those
    /// of a launch template.
    pub not_settable: bool,
}

/// What an instance's metadata service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imds {
    /// Session tokens required (IMDSv2 only).
    V2Only,
    /// The service is turned off.
    Disabled,
    /// IMDSv1 requests are answered (`http_tokens = "optional"`, or not set).
    V1Allowed,
}

impl MetadataOptions<'_> {
    /// What the metadata service accepts; `None` when not known.
    pub fn imds(&self) -> Option<Imds> {
        if self
            .http_endpoint
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case("disabled"))
        {
            return Some(Imds::Disabled);
        }
        if self.http_tokens.is_absent() {
            return Some(Imds::V1Allowed);
        }
        let tokens = self.http_tokens.as_str()?;
        Some(if tokens.eq_ignore_ascii_case("required") {
            Imds::V2Only
        } else {
            Imds::V1Allowed
        })
    }
}

/// The metadata settings of an instance or launch template; `None` for other kinds and for an
/// instance launched from a launch template without settings of its own (the template decides).
pub fn metadata_options<'a>(resource: &Resource<'a>) -> Option<MetadataOptions<'a>> {
    match resource.kind {
        "terraform/aws_instance" | "terraform/aws_launch_template" => {
            if let Some(block) = blocks(resource, "metadata_options").into_iter().next() {
                return Some(MetadataOptions {
                    http_tokens: configured(block.member("http_tokens")),
                    http_endpoint: configured(block.member("http_endpoint")),
                    pointer: block.pointer,
                    not_settable: false,
                });
            }
            if !block_absent(resource, "metadata_options")
                || (resource.kind == "terraform/aws_instance"
                    && !block_absent(resource, "launch_template"))
            {
                return None;
            }
            Some(MetadataOptions {
                pointer: String::new(),
                http_tokens: absent("/metadata_options"),
                http_endpoint: absent("/metadata_options"),
                not_settable: false,
            })
        }
        "cloudformation/AWS::EC2::LaunchTemplate" => {
            let options = Field::at(resource, "/properties/LaunchTemplateData/MetadataOptions");
            if !options.is_absent() && !options.value.is_object() {
                return None;
            }
            Some(MetadataOptions {
                pointer: if options.is_absent() {
                    String::new()
                } else {
                    options.pointer.clone()
                },
                http_tokens: options.member("HttpTokens"),
                http_endpoint: options.member("HttpEndpoint"),
                not_settable: false,
            })
        }
        "cloudformation/AWS::EC2::Instance" => {
            if !Field::at(resource, "/properties/LaunchTemplate").is_absent() {
                return None;
            }
            Some(MetadataOptions {
                pointer: String::new(),
                http_tokens: absent("/properties"),
                http_endpoint: absent("/properties"),
                not_settable: true,
            })
        }
        _ => None,
    }
}
