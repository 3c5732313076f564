//! EC2: security group ingress rules, EBS volumes and instance metadata options.
//!
//! Each view reads Terraform (HCL or plan) and CloudFormation alike:
//!
//! - [`ingress_rules`]: every ingress rule a resource writes, whether inline
//!   (`aws_security_group.ingress`, `AWS::EC2::SecurityGroup.SecurityGroupIngress`) or as a
//!   resource of its own (`aws_security_group_rule` with `type = "ingress"`,
//!   `aws_vpc_security_group_ingress_rule`, `AWS::EC2::SecurityGroupIngress`). A rule is judged
//!   where it is written, so no join between resources is needed.
//! - [`volumes`]: every EBS volume a resource declares (`aws_ebs_volume`, an instance's or
//!   launch configuration's root and attached devices, a launch template's block device
//!   mappings, and the CloudFormation equivalents), with its `encrypted` setting.
//! - [`metadata_options`]: the instance metadata service settings of an instance, launch
//!   template or launch configuration (IMDSv2 or not).
//!
//! A setting the configuration leaves out reads as absent, in a plan too: Terraform prints a
//! value the provider computes when it is not configured as "known after apply"
//! (`{"$unknown": "known after apply"}`), and for the settings read here that only happens when
//! the configuration does not set them. Any other unknown value stays unknown. A CloudFormation
//! resource whose condition is known to be false is not created, so it declares nothing.

use super::{Field, Source, is_unknown, known_i64, known_str};
use crate::{Report, Resource, Value};

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
    "terraform/aws_launch_configuration",
    "terraform/aws_ebs_encryption_by_default",
    "cloudformation/AWS::EC2::Volume",
    "cloudformation/AWS::EC2::Instance",
    "cloudformation/AWS::EC2::LaunchTemplate",
    "cloudformation/AWS::AutoScaling::LaunchConfiguration",
];

/// Kinds that decide an instance's metadata service settings.
pub const METADATA_KINDS: &[&str] = &[
    "terraform/aws_instance",
    "terraform/aws_launch_template",
    "terraform/aws_launch_configuration",
    "cloudformation/AWS::EC2::Instance",
    "cloudformation/AWS::EC2::LaunchTemplate",
    "cloudformation/AWS::AutoScaling::LaunchConfiguration",
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

/// True for an object of settings (a block, a mapping): an object that is not an unknown value
/// or an unevaluated CloudFormation intrinsic.
pub(super) fn is_settings(value: &Value<'_>) -> bool {
    value.is_object() && !is_unknown(value)
}

/// False for a CloudFormation resource whose condition is known to be false: it is not created.
pub(super) fn is_deployed(resource: &Resource<'_>) -> bool {
    Source::of(resource) != Some(Source::CloudFormation)
        || resource.get("/condition_value").as_bool() != Some(false)
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
        .filter(|block| is_settings(block.value))
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
    if !is_deployed(resource) {
        return Vec::new();
    }
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
            .filter(|rule| is_settings(rule.value))
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
    if !is_deployed(resource) {
        return Vec::new();
    }
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
        // A launch configuration declares the same devices as the instances it launches.
        "terraform/aws_instance" | "terraform/aws_launch_configuration" => {
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
                    .filter(|ebs| is_settings(ebs.value))
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
        "cloudformation/AWS::EC2::Instance"
        | "cloudformation/AWS::AutoScaling::LaunchConfiguration" => {
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
            is_settings(ebs.value).then(|| Volume {
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

/// [`encrypted_by_default`] for the batch of `report`, decided once per batch.
pub fn encrypted_by_default_for_report(report: &Report<'_, '_>) -> bool {
    /// Whether the batch turns on EBS encryption by default.
    struct EncryptedByDefault(bool);
    report
        .batch_index(|batch| EncryptedByDefault(encrypted_by_default(batch)))
        .0
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

/// The metadata settings of an instance, launch template or launch configuration; `None` for
/// other kinds, for settings that are not known, and for an instance launched from a launch
/// template without settings of its own (the template decides).
pub fn metadata_options<'a>(resource: &Resource<'a>) -> Option<MetadataOptions<'a>> {
    if !is_deployed(resource) {
        return None;
    }
    match resource.kind {
        "terraform/aws_instance"
        | "terraform/aws_launch_template"
        | "terraform/aws_launch_configuration" => {
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
        "cloudformation/AWS::EC2::LaunchTemplate" => cloudformation_options(Field::at(
            resource,
            "/properties/LaunchTemplateData/MetadataOptions",
        )),
        "cloudformation/AWS::AutoScaling::LaunchConfiguration" => {
            cloudformation_options(Field::at(resource, "/properties/MetadataOptions"))
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

/// A CloudFormation `MetadataOptions` object; `None` when it is not known.
fn cloudformation_options(options: Field<'_>) -> Option<MetadataOptions<'_>> {
    if !options.is_absent() && !is_settings(options.value) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OwnedValue;
    use serde_json::json;

    fn parse(attributes: serde_json::Value) -> OwnedValue {
        OwnedValue::from_string(attributes.to_string()).expect("valid JSON")
    }

    fn rule(
        protocol: serde_json::Value,
        from: serde_json::Value,
        to: serde_json::Value,
    ) -> OwnedValue {
        parse(
            json!({"type": "ingress", "protocol": protocol, "from_port": from, "to_port": to,
                     "cidr_blocks": ["0.0.0.0/0"]}),
        )
    }

    fn first_rule<'a>(resource: &Resource<'a>) -> IngressRule<'a> {
        ingress_rules(resource)
            .into_iter()
            .next()
            .expect("one ingress rule")
    }

    #[test]
    fn protocols_are_read_by_name_and_number() {
        for (value, protocol) in [
            (json!("-1"), Protocol::All),
            (json!(-1), Protocol::All),
            (json!("all"), Protocol::All),
            (json!("tcp"), Protocol::Tcp),
            (json!("TCP"), Protocol::Tcp),
            (json!("6"), Protocol::Tcp),
            (json!(17), Protocol::Udp),
            (json!("icmp"), Protocol::Other),
            (json!("58"), Protocol::Other),
        ] {
            let value = parse(value);
            assert_eq!(Protocol::parse(&value), Some(protocol), "{value:?}");
        }
        assert_eq!(
            Protocol::parse(&parse(json!({"$unknown": "var.protocol"}))),
            None
        );
    }

    #[test]
    fn port_ranges_cover_the_ports_between_their_bounds() {
        let cases = [
            (json!("tcp"), json!(22), json!(22), 22, Some(true)),
            (json!("tcp"), json!(20), json!(30), 22, Some(true)),
            (json!("tcp"), json!(23), json!(30), 22, Some(false)),
            (json!("tcp"), json!("3000"), json!("3400"), 3389, Some(true)),
            (json!("-1"), json!(0), json!(0), 5432, Some(true)),
            (json!("tcp"), json!(-1), json!(-1), 6379, Some(true)),
            (json!("udp"), json!(22), json!(22), 22, Some(false)),
            (json!("icmp"), json!(22), json!(22), 22, Some(false)),
            (json!("tcp"), json!(30), json!(20), 22, Some(false)),
            (
                json!("tcp"),
                json!({"$unknown": "var.port"}),
                json!(22),
                22,
                None,
            ),
        ];
        for (protocol, from, to, port, reaches) in cases {
            let attributes = rule(protocol.clone(), from.clone(), to.clone());
            let resource =
                Resource::new("r", "terraform/aws_security_group_rule", "f", &attributes);
            assert_eq!(
                first_rule(&resource).reaches(Protocol::Tcp, port),
                reaches,
                "{protocol} {from}-{to} reaching {port}"
            );
        }
    }

    #[test]
    fn everything_open_means_all_protocols_or_the_whole_port_range() {
        for (protocol, from, to, everything) in [
            (json!("-1"), json!(0), json!(0), Some(true)),
            (json!("tcp"), json!(0), json!(65535), Some(true)),
            (json!("tcp"), json!(1), json!(65535), Some(true)),
            (json!("tcp"), json!(1024), json!(65535), Some(false)),
            (json!("icmp"), json!(-1), json!(-1), Some(false)),
            (json!({"$unknown": "var.p"}), json!(0), json!(0), None),
        ] {
            let attributes = rule(protocol.clone(), from, to);
            let resource =
                Resource::new("r", "terraform/aws_security_group_rule", "f", &attributes);
            assert_eq!(
                first_rule(&resource).opens_everything(),
                everything,
                "{protocol}"
            );
        }
    }

    #[test]
    fn only_known_world_wide_cidrs_are_internet_sources() {
        let attributes = parse(json!({"ingress": [{
            "protocol": "tcp", "from_port": 22, "to_port": 22,
            "cidr_blocks": ["10.0.0.0/8", {"$unknown": "var.admin_cidr"}, "0.0.0.0/0"],
            "ipv6_cidr_blocks": ["::/0", "2001:db8::/32"]
        }]}));
        let resource = Resource::new(
            "aws_security_group.a",
            "terraform/aws_security_group",
            "f",
            &attributes,
        );
        let rule = first_rule(&resource);
        let open: Vec<_> = rule
            .internet_sources()
            .map(|(field, cidr)| (field.pointer.as_str(), cidr))
            .collect();
        assert_eq!(
            open,
            [
                ("/ingress/0/cidr_blocks/2", "0.0.0.0/0"),
                ("/ingress/0/ipv6_cidr_blocks/0", "::/0")
            ]
        );
        assert!(is_internet("10.1.2.3/0"));
        assert!(!is_internet("/0"));
        assert!(!is_internet("0.0.0.0/1"));
    }

    #[test]
    fn ingress_rules_are_read_in_every_form() {
        let egress = parse(json!({"type": "egress", "protocol": "-1", "from_port": 0,
                                  "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}));
        let resource = Resource::new("e", "terraform/aws_security_group_rule", "f", &egress);
        assert!(ingress_rules(&resource).is_empty());

        let vpc_rule = parse(json!({"ip_protocol": "-1", "cidr_ipv6": "::/0", "cidr_ipv4": null}));
        let resource = Resource::new(
            "v",
            "terraform/aws_vpc_security_group_ingress_rule",
            "f",
            &vpc_rule,
        );
        let rule = first_rule(&resource);
        assert_eq!(rule.opens_everything(), Some(true));
        assert_eq!(
            rule.internet_sources()
                .map(|(f, _)| f.pointer.clone())
                .collect::<Vec<_>>(),
            ["/cidr_ipv6"]
        );

        let group = parse(
            json!({"logical_id": "Web", "properties": {"SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv6": "::/0"}
            ]}}),
        );
        let resource = Resource::new(
            "AWS::EC2::SecurityGroup/Web",
            "cloudformation/AWS::EC2::SecurityGroup",
            "f",
            &group,
        );
        let rules = ingress_rules(&resource);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[1].pointer, "/properties/SecurityGroupIngress/1");
        assert_eq!(rules[1].reaches(Protocol::Tcp, 22), Some(true));
        assert_eq!(
            rules[1].cidrs[0].pointer,
            "/properties/SecurityGroupIngress/1/CidrIpv6"
        );

        let standalone = parse(
            json!({"properties": {"IpProtocol": "udp", "FromPort": 11211,
                                                      "ToPort": 11211, "CidrIp": "0.0.0.0/0"}}),
        );
        let resource = Resource::new(
            "AWS::EC2::SecurityGroupIngress/M",
            "cloudformation/AWS::EC2::SecurityGroupIngress",
            "f",
            &standalone,
        );
        assert_eq!(
            first_rule(&resource).reaches(Protocol::Udp, 11211),
            Some(true)
        );
        assert_eq!(
            first_rule(&resource).reaches(Protocol::Tcp, 11211),
            Some(false)
        );
    }

    #[test]
    fn an_instance_without_root_device_has_an_unencrypted_root_volume() {
        let attributes =
            parse(json!({"ami": "ami-1", "root_block_device": {"$unknown": "known after apply"}}));
        let resource = Resource::new("aws_instance.a", "terraform/aws_instance", "f", &attributes);
        let volumes = volumes(&resource);
        assert_eq!(volumes.len(), 1);
        assert_eq!(volumes[0].role, VolumeRole::Root);
        assert_eq!(volumes[0].pointer, "");
        assert_eq!(volumes[0].is_encrypted(), Some(false));

        let from_template =
            parse(json!({"launch_template": [{"id": {"$ref": "aws_launch_template.a.id"}}]}));
        let resource = Resource::new(
            "aws_instance.b",
            "terraform/aws_instance",
            "f",
            &from_template,
        );
        assert!(super::volumes(&resource).is_empty());
    }

    #[test]
    fn volume_encryption_reads_settings_defaults_and_snapshots() {
        let cases = [
            (json!({"encrypted": true}), Some(true)),
            (json!({"encrypted": false}), Some(false)),
            (
                json!({"encrypted": {"$unknown": "known after apply"}}),
                Some(false),
            ),
            (json!({"encrypted": {"$unknown": "var.encrypted"}}), None),
            (json!({"snapshot_id": "snap-1"}), None),
            (
                json!({"snapshot_id": {"$unknown": "known after apply"}}),
                Some(false),
            ),
            (json!({}), Some(false)),
        ];
        for (attributes, encrypted) in cases {
            let value = parse(attributes.clone());
            let resource =
                Resource::new("aws_ebs_volume.a", "terraform/aws_ebs_volume", "f", &value);
            assert_eq!(
                volumes(&resource)[0].is_encrypted(),
                encrypted,
                "{attributes}"
            );
        }
        let template = parse(json!({"block_device_mappings": [
            {"device_name": "/dev/xvda", "ebs": [{"encrypted": ""}]},
            {"device_name": "/dev/sdb", "ebs": [], "virtual_name": "ephemeral0"},
            {"device_name": "/dev/sdc", "ebs": [{"encrypted": "true"}]}
        ]}));
        let resource = Resource::new(
            "aws_launch_template.a",
            "terraform/aws_launch_template",
            "f",
            &template,
        );
        let found: Vec<_> = volumes(&resource)
            .iter()
            .map(|v| (v.describe(), v.is_encrypted(), v.encrypted.pointer.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "device `/dev/xvda`".to_owned(),
                    Some(false),
                    "/block_device_mappings/0/ebs/0/encrypted".to_owned()
                ),
                (
                    "device `/dev/sdc`".to_owned(),
                    Some(true),
                    "/block_device_mappings/2/ebs/0/encrypted".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn cloudformation_instances_declare_root_volumes_unless_mapped_or_templated() {
        let bare = parse(json!({"properties": {"ImageId": "ami-1"}}));
        let resource = Resource::new(
            "AWS::EC2::Instance/A",
            "cloudformation/AWS::EC2::Instance",
            "f",
            &bare,
        );
        assert_eq!(volumes(&resource)[0].role, VolumeRole::Root);
        let templated =
            parse(json!({"properties": {"LaunchTemplate": {"LaunchTemplateId": {"Ref": "T"}}}}));
        let resource = Resource::new(
            "AWS::EC2::Instance/B",
            "cloudformation/AWS::EC2::Instance",
            "f",
            &templated,
        );
        assert!(volumes(&resource).is_empty());
        assert!(metadata_options(&resource).is_none());
        let resource = Resource::new(
            "AWS::EC2::Instance/A",
            "cloudformation/AWS::EC2::Instance",
            "f",
            &bare,
        );
        let options = metadata_options(&resource).expect("judged");
        assert!(options.not_settable);
        assert_eq!(options.imds(), Some(Imds::V1Allowed));
    }

    #[test]
    fn encryption_by_default_is_on_unless_disabled() {
        let on = parse(json!({"enabled": true}));
        let implicit = parse(json!({}));
        let off = parse(json!({"enabled": false}));
        let kind = "terraform/aws_ebs_encryption_by_default";
        assert!(encrypted_by_default(&[Resource::new("a", kind, "f", &on)]));
        assert!(encrypted_by_default(&[Resource::new(
            "a", kind, "f", &implicit
        )]));
        assert!(!encrypted_by_default(&[Resource::new(
            "a", kind, "f", &off
        )]));
        assert!(!encrypted_by_default(&[]));
    }

    #[test]
    fn metadata_options_tell_imdsv1_from_imdsv2() {
        let cases = [
            (json!({}), Some(Imds::V1Allowed), ""),
            (
                json!({"metadata_options": {"$unknown": "known after apply"}}),
                Some(Imds::V1Allowed),
                "",
            ),
            (
                json!({"metadata_options": [{"http_tokens": "required"}]}),
                Some(Imds::V2Only),
                "/metadata_options/0",
            ),
            (
                json!({"metadata_options": [{"http_tokens": "optional"}]}),
                Some(Imds::V1Allowed),
                "/metadata_options/0",
            ),
            (
                json!({"metadata_options": [{"http_endpoint": "enabled", "http_tokens": {"$unknown": "known after apply"}}]}),
                Some(Imds::V1Allowed),
                "/metadata_options/0",
            ),
            (
                json!({"metadata_options": [{"http_endpoint": "disabled"}]}),
                Some(Imds::Disabled),
                "/metadata_options/0",
            ),
            (
                json!({"metadata_options": [{"http_tokens": {"$unknown": "var.tokens"}}]}),
                None,
                "/metadata_options/0",
            ),
        ];
        for (attributes, imds, pointer) in cases {
            let value = parse(attributes.clone());
            let resource = Resource::new("aws_instance.a", "terraform/aws_instance", "f", &value);
            let options = metadata_options(&resource).expect("judged");
            assert_eq!(options.imds(), imds, "{attributes}");
            assert_eq!(options.pointer, pointer, "{attributes}");
        }
        let dynamic = parse(json!({"metadata_options": {"$unknown": "dynamic block"}}));
        let resource = Resource::new("aws_instance.a", "terraform/aws_instance", "f", &dynamic);
        assert!(metadata_options(&resource).is_none());
    }

    #[test]
    fn unevaluated_intrinsics_and_resources_not_created_declare_nothing() {
        let conditional = parse(
            json!({"properties": {"MetadataOptions": {"Fn::If": ["Strict", {"HttpTokens": "required"}, {"Ref": "AWS::NoValue"}]},
                                                       "LaunchTemplateData": {"MetadataOptions": {"Fn::If": ["Strict", {"HttpTokens": "required"}, {}]},
                                                                              "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Fn::If": ["Enc", {"Encrypted": true}, {"Encrypted": false}]}}]}}}),
        );
        let resource = Resource::new(
            "AWS::EC2::LaunchTemplate/T",
            "cloudformation/AWS::EC2::LaunchTemplate",
            "f",
            &conditional,
        );
        assert!(metadata_options(&resource).is_none());
        assert!(volumes(&resource).is_empty());

        let not_created = parse(json!({"condition": "Legacy", "condition_value": false,
                                       "properties": {"ImageId": "ami-1"}}));
        let resource = Resource::new(
            "AWS::EC2::Instance/L",
            "cloudformation/AWS::EC2::Instance",
            "f",
            &not_created,
        );
        assert!(metadata_options(&resource).is_none());
        assert!(volumes(&resource).is_empty());
        let undecided = parse(json!({"condition": "Legacy", "condition_value": null,
                                     "properties": {"ImageId": "ami-1"}}));
        let resource = Resource::new(
            "AWS::EC2::Instance/L",
            "cloudformation/AWS::EC2::Instance",
            "f",
            &undecided,
        );
        assert!(metadata_options(&resource).is_some());
    }

    #[test]
    fn launch_configurations_are_read_like_instances() {
        let terraform =
            parse(json!({"image_id": "ami-1", "metadata_options": [{"http_tokens": "optional"}]}));
        let resource = Resource::new(
            "aws_launch_configuration.a",
            "terraform/aws_launch_configuration",
            "f",
            &terraform,
        );
        assert_eq!(volumes(&resource)[0].role, VolumeRole::Root);
        assert_eq!(
            metadata_options(&resource).and_then(|o| o.imds()),
            Some(Imds::V1Allowed)
        );
        let cloudformation = parse(
            json!({"properties": {"MetadataOptions": {"HttpTokens": "required"},
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": true}}]}}),
        );
        let resource = Resource::new(
            "AWS::AutoScaling::LaunchConfiguration/L",
            "cloudformation/AWS::AutoScaling::LaunchConfiguration",
            "f",
            &cloudformation,
        );
        let options = metadata_options(&resource).expect("judged");
        assert_eq!(options.imds(), Some(Imds::V2Only));
        assert_eq!(
            options.http_tokens.pointer,
            "/properties/MetadataOptions/HttpTokens"
        );
        assert_eq!(volumes(&resource)[0].is_encrypted(), Some(true));
    }
}
