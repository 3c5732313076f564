//! Amazon S3 buckets: one view per bucket, however many resources configure it.
//!
//! A bucket's settings can sit on the bucket itself (CloudFormation; the AWS provider before
//! v4: `acl`, `grant`, `policy`, `versioning`, `logging`, `server_side_encryption_configuration`)
//! or in separate resources that name the bucket (provider v4 and later:
//! `aws_s3_bucket_acl`, `aws_s3_bucket_public_access_block`, `aws_s3_bucket_policy`,
//! `aws_s3_bucket_versioning`, `aws_s3_bucket_logging`,
//! `aws_s3_bucket_server_side_encryption_configuration`; CloudFormation's
//! `AWS::S3::BucketPolicy`). [`Bucket`] gathers them all from the batch.
//!
//! A separate resource belongs to a bucket when its `bucket` (CloudFormation: `Bucket`) refers
//! to the bucket (`aws_s3_bucket.logs.id`, `!Ref Logs`) or equals the bucket's name literally
//! (what a plan shows for a name known before apply). Every setting is a [`Setting`]: the field
//! and the resource it is written in, so a finding about a separate resource is reported on that
//! resource and its line.
//!
//! What cannot be decided statically never counts as missing: a separate resource whose bucket
//! is not known may configure any bucket of the batch ([`Settings::maybe_elsewhere`]), and a
//! bucket with such a setting is not reported for lacking it. In a plan, the provider's computed
//! bucket blocks (`versioning`, `logging`… known only after apply because the configuration does
//! not set them) read as absent. When both the bucket and a separate resource configure the
//! same setting, the separate resource's value is the one kept (with provider v4 the bucket's
//! block is computed from it).
//!
//! Rules call [`buckets_for_report`] with the resource they check and keep, through
//! [`Findings`], the problems located in that resource: a problem in a separate resource is then
//! reported once, when that resource is checked, on its own line. The joins are built once per
//! batch, so checking a batch costs time in proportion to its size.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::aws::iam::{self, PolicyDocument};
use crate::aws::{Field, Source, is_unknown, reference, referred_ids};
use crate::{Report, Resource, Value};

const TF_BUCKET: &str = "terraform/aws_s3_bucket";
const TF_ACL: &str = "terraform/aws_s3_bucket_acl";
const TF_PUBLIC_ACCESS_BLOCK: &str = "terraform/aws_s3_bucket_public_access_block";
const TF_ACCOUNT_PUBLIC_ACCESS_BLOCK: &str = "terraform/aws_s3_account_public_access_block";
const TF_POLICY: &str = "terraform/aws_s3_bucket_policy";
const TF_ENCRYPTION: &str = "terraform/aws_s3_bucket_server_side_encryption_configuration";
const TF_VERSIONING: &str = "terraform/aws_s3_bucket_versioning";
const TF_LOGGING: &str = "terraform/aws_s3_bucket_logging";
const CFN_BUCKET: &str = "cloudformation/AWS::S3::Bucket";
const CFN_POLICY: &str = "cloudformation/AWS::S3::BucketPolicy";

/// The bucket resources themselves.
pub const BUCKET_KINDS: &[&str] = &[TF_BUCKET, CFN_BUCKET];

/// Kinds that may hold a bucket's public exposure: ACLs, public-access blocks, bucket policies
/// and the policy documents they are built from.
pub const PUBLIC_ACCESS_KINDS: &[&str] = &[
    TF_BUCKET,
    TF_ACL,
    TF_PUBLIC_ACCESS_BLOCK,
    TF_ACCOUNT_PUBLIC_ACCESS_BLOCK,
    TF_POLICY,
    iam::POLICY_DOCUMENT_KIND,
    CFN_BUCKET,
    CFN_POLICY,
];

/// Kinds that may hold a bucket's default encryption.
pub const ENCRYPTION_KINDS: &[&str] = &[TF_BUCKET, TF_ENCRYPTION, CFN_BUCKET];

/// Kinds that may hold a bucket's versioning.
pub const VERSIONING_KINDS: &[&str] = &[TF_BUCKET, TF_VERSIONING, CFN_BUCKET];

/// Kinds that may hold a bucket's access logging, or show it is itself a log target (its ACL,
/// its policy granting the logging service, another bucket's logging).
pub const LOGGING_KINDS: &[&str] = &[
    TF_BUCKET,
    TF_LOGGING,
    TF_ACL,
    TF_POLICY,
    iam::POLICY_DOCUMENT_KIND,
    CFN_BUCKET,
    CFN_POLICY,
];

/// The service principal S3 server access logs are delivered by.
const LOG_DELIVERY_SERVICE: &str = "logging.s3.amazonaws.com";

/// A bucket setting: the field and the resource it is written in.
#[derive(Debug, Clone)]
pub struct Setting<'b, 'r> {
    pub resource: &'b Resource<'r>,
    pub field: Field<'r>,
}

impl<'b, 'r> Setting<'b, 'r> {
    fn at(resource: &'b Resource<'r>, pointer: impl Into<String>) -> Self {
        Setting {
            resource,
            field: Field::at(resource, pointer),
        }
    }

    fn member(&self, key: &str) -> Self {
        Setting {
            resource: self.resource,
            field: self.field.member(key),
        }
    }

    /// The pointer of the field, for a finding.
    pub fn pointer(&self) -> &str {
        &self.field.pointer
    }
}

/// The settings of one kind a bucket has, and whether it may have more the batch does not show.
#[derive(Debug, Clone)]
pub struct Settings<T> {
    pub found: Vec<T>,
    /// True when a setting of this kind exists whose bucket is not known statically (or the
    /// bucket's own value is not known), so it may apply to this bucket.
    pub maybe_elsewhere: bool,
}

impl<T> Default for Settings<T> {
    fn default() -> Self {
        Settings {
            found: Vec::new(),
            maybe_elsewhere: false,
        }
    }
}

impl<T> Settings<T> {
    /// True when the bucket is known to have no setting of this kind.
    pub fn is_missing(&self) -> bool {
        self.found.is_empty() && !self.maybe_elsewhere
    }
}

/// A canned ACL (`acl`, CloudFormation `AccessControl`).
#[derive(Debug, Clone)]
pub struct Acl<'b, 'r> {
    pub setting: Setting<'b, 'r>,
    /// The ACL's name in S3's spelling: `public-read`, `log-delivery-write`… (CloudFormation's
    /// `PublicRead` becomes `public-read`).
    pub name: String,
}

impl Acl<'_, '_> {
    /// True for the ACLs that let anyone, or any AWS account, read or write.
    pub fn is_public(&self) -> bool {
        matches!(
            self.name.as_str(),
            "public-read" | "public-read-write" | "authenticated-read"
        )
    }
}

/// A grant to a group (`grant` blocks, `access_control_policy.grant`); the setting is the
/// grantee's URI.
#[derive(Debug, Clone)]
pub struct Grant<'b, 'r> {
    pub setting: Setting<'b, 'r>,
    pub uri: String,
}

impl Grant<'_, '_> {
    /// True for grants to everyone (`AllUsers`) or to every AWS account (`AuthenticatedUsers`).
    pub fn is_public(&self) -> bool {
        self.uri.ends_with("/global/AllUsers") || self.uri.ends_with("/global/AuthenticatedUsers")
    }
}

/// A public-access block: its four flags (absent flags are `false` in S3).
#[derive(Debug, Clone)]
pub struct PublicAccessBlock<'b, 'r> {
    /// The block itself (the resource for Terraform, `PublicAccessBlockConfiguration` for
    /// CloudFormation).
    pub setting: Setting<'b, 'r>,
    pub block_public_acls: Setting<'b, 'r>,
    pub block_public_policy: Setting<'b, 'r>,
    pub ignore_public_acls: Setting<'b, 'r>,
    pub restrict_public_buckets: Setting<'b, 'r>,
}

impl<'b, 'r> PublicAccessBlock<'b, 'r> {
    fn new(setting: Setting<'b, 'r>, names: [&str; 4]) -> Self {
        let [acls, policy, ignore, restrict] = names;
        PublicAccessBlock {
            block_public_acls: setting.member(acls),
            block_public_policy: setting.member(policy),
            ignore_public_acls: setting.member(ignore),
            restrict_public_buckets: setting.member(restrict),
            setting,
        }
    }

    /// The four flags with their names as written.
    pub fn flags(&self) -> [&Setting<'b, 'r>; 4] {
        [
            &self.block_public_acls,
            &self.block_public_policy,
            &self.ignore_public_acls,
            &self.restrict_public_buckets,
        ]
    }

    /// True when all four flags are known to be on.
    pub fn blocks_everything(&self) -> bool {
        self.flags().iter().all(|f| f.field.as_bool() == Some(true))
    }

    /// True when a flag is neither known on nor known off.
    pub fn is_partly_unknown(&self) -> bool {
        self.flags()
            .iter()
            .any(|f| !f.field.is_absent() && f.field.as_bool().is_none())
    }
}

/// A bucket policy: the field holding it and the document it is.
#[derive(Debug, Clone)]
pub struct BucketPolicy<'b, 'r> {
    pub setting: Setting<'b, 'r>,
    pub document: PolicyDocument<'b, 'r>,
}

/// Default encryption: the configuration block.
#[derive(Debug, Clone)]
pub struct Encryption<'b, 'r> {
    pub configuration: Setting<'b, 'r>,
}

/// Versioning: the field that says whether it is on (`versioning.enabled`,
/// `versioning_configuration.status`, `VersioningConfiguration.Status`).
#[derive(Debug, Clone)]
pub struct Versioning<'b, 'r> {
    pub status: Setting<'b, 'r>,
}

impl Versioning<'_, '_> {
    /// `Some(true)` when on, `Some(false)` when off (`Suspended`, `Disabled`, `false`, or the
    /// status left out, which S3 and the provider read as off), `None` when not known.
    pub fn enabled(&self) -> Option<bool> {
        let value = self.status.field.value;
        if value.is_null() {
            return Some(false);
        }
        if let Some(enabled) = self.status.field.as_bool() {
            return Some(enabled);
        }
        match value.as_str()? {
            "Enabled" => Some(true),
            "Suspended" | "Disabled" => Some(false),
            _ => None,
        }
    }
}

/// Server access logging: the configuration and where it delivers.
#[derive(Debug, Clone)]
pub struct Logging<'b, 'r> {
    pub configuration: Setting<'b, 'r>,
    pub target: Setting<'b, 'r>,
}

/// One bucket with every setting the batch gives it (or, in a partial view of a settings
/// resource, that resource's settings only; see [`buckets_for`]).
#[derive(Debug, Clone)]
pub struct Bucket<'b, 'r> {
    /// The bucket resource; `None` in a partial view of a settings resource whose bucket is not
    /// in the batch (or not known).
    pub resource: Option<&'b Resource<'r>>,
    pub acls: Settings<Acl<'b, 'r>>,
    pub grants: Vec<Grant<'b, 'r>>,
    pub public_access_blocks: Settings<PublicAccessBlock<'b, 'r>>,
    /// Account-wide public-access blocks of the batch (Terraform
    /// `aws_s3_account_public_access_block`), which cover every bucket.
    pub account_public_access_blocks: Vec<PublicAccessBlock<'b, 'r>>,
    pub policies: Settings<BucketPolicy<'b, 'r>>,
    pub encryption: Settings<Encryption<'b, 'r>>,
    pub versioning: Settings<Versioning<'b, 'r>>,
    pub logging: Settings<Logging<'b, 'r>>,
    /// Whether the bucket receives other buckets' access logs (`log-delivery-write` ACL, a
    /// policy granting the logging service, or another bucket's logging target); `None` when a
    /// logging target of the batch is not known.
    pub log_target: Option<bool>,
}

impl<'b, 'r> Bucket<'b, 'r> {
    fn empty(resource: Option<&'b Resource<'r>>) -> Self {
        Bucket {
            resource,
            acls: Settings::default(),
            grants: Vec::new(),
            public_access_blocks: Settings::default(),
            account_public_access_blocks: Vec::new(),
            policies: Settings::default(),
            encryption: Settings::default(),
            versioning: Settings::default(),
            logging: Settings::default(),
            log_target: Some(false),
        }
    }

    /// The view of the bucket resource `bucket` of `batch`, with the settings of `batch` that
    /// belong to it.
    pub fn new(batch: &'b [Resource<'r>], bucket: &'b Resource<'r>) -> Self {
        Index::new(batch).bucket(bucket)
    }

    /// Drops the bucket's own value of each setting a separate resource also configures: with
    /// provider v4 and later the bucket's blocks are computed from those resources (a plan of an
    /// existing bucket shows its state before they apply), and the provider documents the
    /// separate resource as the one that wins.
    fn prefer_separate_resources(&mut self, bucket: &Resource<'_>) {
        fn keep_separate<T>(items: &mut Vec<T>, separate: impl Fn(&T) -> bool) {
            if items.iter().any(&separate) {
                items.retain(separate);
            }
        }
        let separate_acl = self
            .acls
            .found
            .iter()
            .map(|a| a.setting.resource)
            .chain(self.grants.iter().map(|g| g.setting.resource))
            .any(|r| !iam::same(r, bucket));
        if separate_acl {
            self.acls
                .found
                .retain(|a| !iam::same(a.setting.resource, bucket));
            self.grants
                .retain(|g| !iam::same(g.setting.resource, bucket));
        }
        keep_separate(&mut self.policies.found, |p| {
            !iam::same(p.setting.resource, bucket)
        });
        keep_separate(&mut self.encryption.found, |e| {
            !iam::same(e.configuration.resource, bucket)
        });
        keep_separate(&mut self.versioning.found, |v| {
            !iam::same(v.status.resource, bucket)
        });
        keep_separate(&mut self.logging.found, |l| {
            !iam::same(l.configuration.resource, bucket)
        });
    }

    fn add_account_blocks(&mut self, blocks: &[&'b Resource<'r>]) {
        self.account_public_access_blocks.extend(
            blocks
                .iter()
                .map(|&block| terraform_public_access_block(block)),
        );
    }

    /// True when an account-wide block covers the bucket, or may (a flag not known).
    pub fn account_blocks_public_access(&self) -> bool {
        self.account_public_access_blocks
            .iter()
            .any(|b| b.blocks_everything() || b.is_partly_unknown())
    }

    /// The bucket for messages: "bucket `acme-logs`" by its name, else by its logical id or
    /// address; "the bucket" for a settings resource whose bucket is not in the batch.
    pub fn describe(&self) -> String {
        let Some(resource) = self.resource else {
            return "the bucket".to_string();
        };
        match bucket_name(resource) {
            Name::Known(name) => format!("bucket `{name}`"),
            _ => match resource.get("/logical_id").as_str() {
                Some(logical_id) => format!("bucket `{logical_id}`"),
                None => format!("bucket `{}`", resource.id),
            },
        }
    }

    /// Where a finding about something the bucket lacks belongs: the bucket resource's first
    /// line.
    pub fn missing_pointer(&self) -> &'static str {
        ""
    }

    /// Reads the settings `resource` (the bucket or a separate resource) holds.
    fn read(&mut self, index: &Index<'b, 'r>, resource: &'b Resource<'r>) {
        match resource.kind {
            TF_BUCKET => self.read_terraform_bucket(index, resource),
            TF_ACL => {
                self.read_acl(Setting::at(resource, "/acl"), false);
                let policy = Setting::at(resource, "/access_control_policy");
                for block in policy.field.elements() {
                    for grant in block.member("grant").elements() {
                        for grantee in grant.member("grantee").elements() {
                            self.read_grant(Setting {
                                resource,
                                field: grantee.member("uri"),
                            });
                        }
                    }
                }
            }
            TF_PUBLIC_ACCESS_BLOCK => self
                .public_access_blocks
                .found
                .push(terraform_public_access_block(resource)),
            TF_POLICY => self.read_policy(index, Setting::at(resource, "/policy"), false),
            TF_ENCRYPTION => self.encryption.found.push(Encryption {
                configuration: Setting::at(resource, "/rule"),
            }),
            TF_VERSIONING => {
                let configuration = Setting::at(resource, "/versioning_configuration");
                match present(configuration.field.value, false) {
                    Presence::Present => {
                        for block in configuration.field.elements() {
                            self.versioning.found.push(Versioning {
                                status: Setting {
                                    resource,
                                    field: block.member("status"),
                                },
                            });
                        }
                    }
                    Presence::Unknown => self.versioning.maybe_elsewhere = true,
                    Presence::Absent => {}
                }
            }
            TF_LOGGING => self.logging.found.push(Logging {
                configuration: Setting::at(resource, ""),
                target: Setting::at(resource, "/target_bucket"),
            }),
            CFN_BUCKET => self.read_cloudformation_bucket(resource),
            CFN_POLICY => self.read_policy(
                index,
                Setting::at(resource, "/properties/PolicyDocument"),
                false,
            ),
            _ => {}
        }
    }

    fn read_terraform_bucket(&mut self, index: &Index<'b, 'r>, bucket: &'b Resource<'r>) {
        self.read_acl(Setting::at(bucket, "/acl"), true);
        let grants = Setting::at(bucket, "/grant");
        if present(grants.field.value, true) == Presence::Present {
            for grant in grants.field.elements() {
                self.read_grant(Setting {
                    resource: bucket,
                    field: grant.member("uri"),
                });
            }
        }
        self.read_policy(index, Setting::at(bucket, "/policy"), true);
        let encryption = Setting::at(bucket, "/server_side_encryption_configuration");
        match present(encryption.field.value, true) {
            Presence::Present => self.encryption.found.push(Encryption {
                configuration: encryption,
            }),
            Presence::Unknown => self.encryption.maybe_elsewhere = true,
            Presence::Absent => {}
        }
        let versioning = Setting::at(bucket, "/versioning");
        match present(versioning.field.value, true) {
            Presence::Present => {
                for block in versioning.field.elements() {
                    self.versioning.found.push(Versioning {
                        status: Setting {
                            resource: bucket,
                            field: block.member("enabled"),
                        },
                    });
                }
            }
            Presence::Unknown => self.versioning.maybe_elsewhere = true,
            Presence::Absent => {}
        }
        let logging = Setting::at(bucket, "/logging");
        match present(logging.field.value, true) {
            Presence::Present => {
                for block in logging.field.elements() {
                    self.logging.found.push(Logging {
                        target: Setting {
                            resource: bucket,
                            field: block.member("target_bucket"),
                        },
                        configuration: Setting {
                            resource: bucket,
                            field: block,
                        },
                    });
                }
            }
            Presence::Unknown => self.logging.maybe_elsewhere = true,
            Presence::Absent => {}
        }
    }

    fn read_cloudformation_bucket(&mut self, bucket: &'b Resource<'r>) {
        self.read_acl(Setting::at(bucket, "/properties/AccessControl"), false);
        let block = Setting::at(bucket, "/properties/PublicAccessBlockConfiguration");
        match present(block.field.value, false) {
            Presence::Present => self.public_access_blocks.found.push(PublicAccessBlock::new(
                block,
                [
                    "BlockPublicAcls",
                    "BlockPublicPolicy",
                    "IgnorePublicAcls",
                    "RestrictPublicBuckets",
                ],
            )),
            Presence::Unknown => self.public_access_blocks.maybe_elsewhere = true,
            Presence::Absent => {}
        }
        let encryption = Setting::at(bucket, "/properties/BucketEncryption");
        match present(encryption.field.value, false) {
            Presence::Present => self.encryption.found.push(Encryption {
                configuration: encryption,
            }),
            Presence::Unknown => self.encryption.maybe_elsewhere = true,
            Presence::Absent => {}
        }
        let versioning = Setting::at(bucket, "/properties/VersioningConfiguration");
        match present(versioning.field.value, false) {
            Presence::Present => self.versioning.found.push(Versioning {
                status: versioning.member("Status"),
            }),
            Presence::Unknown => self.versioning.maybe_elsewhere = true,
            Presence::Absent => {}
        }
        let logging = Setting::at(bucket, "/properties/LoggingConfiguration");
        match present(logging.field.value, false) {
            Presence::Present => self.logging.found.push(Logging {
                target: logging.member("DestinationBucketName"),
                configuration: logging,
            }),
            Presence::Unknown => self.logging.maybe_elsewhere = true,
            Presence::Absent => {}
        }
    }

    fn read_acl(&mut self, setting: Setting<'b, 'r>, computed: bool) {
        match present(setting.field.value, computed) {
            Presence::Present => match setting.field.as_str() {
                Some(name) => {
                    let name = acl_name(name);
                    self.acls.found.push(Acl { setting, name });
                }
                None => self.acls.maybe_elsewhere = true,
            },
            Presence::Unknown => self.acls.maybe_elsewhere = true,
            Presence::Absent => {}
        }
    }

    fn read_grant(&mut self, setting: Setting<'b, 'r>) {
        if let Some(uri) = setting.field.as_str() {
            let uri = uri.to_string();
            self.grants.push(Grant { setting, uri });
        }
    }

    fn read_policy(&mut self, index: &Index<'b, 'r>, setting: Setting<'b, 'r>, computed: bool) {
        match present(setting.field.value, computed) {
            Presence::Absent => {}
            Presence::Unknown if setting.field.value.get("$ref").is_null() => {
                self.policies.maybe_elsewhere = true
            }
            _ => {
                let document =
                    PolicyDocument::from_field_with(setting.resource, &setting.field, |target| {
                        index.documents.data_source(index.batch, target)
                    });
                if let Some(document) = document {
                    self.policies.maybe_elsewhere |= document.unknown;
                    self.policies.found.push(BucketPolicy { setting, document });
                }
            }
        }
    }

    /// Marks the settings a separate resource of `kind` holds as possibly this bucket's.
    fn mark_maybe(&mut self, kind: &str) {
        match kind {
            TF_ACL => self.acls.maybe_elsewhere = true,
            TF_PUBLIC_ACCESS_BLOCK => self.public_access_blocks.maybe_elsewhere = true,
            TF_POLICY | CFN_POLICY => self.policies.maybe_elsewhere = true,
            TF_ENCRYPTION => self.encryption.maybe_elsewhere = true,
            TF_VERSIONING => self.versioning.maybe_elsewhere = true,
            TF_LOGGING => self.logging.maybe_elsewhere = true,
            _ => {}
        }
    }
}

/// The buckets `resource` takes part in, as a rule checking it needs them: for a bucket, its
/// full view; for a separate settings resource, a partial view per bucket it configures (one
/// without a bucket when none of the batch is known to be it) holding only that resource's
/// settings and the account-wide blocks; for an `aws_iam_policy_document`, the views of the
/// buckets whose policy it builds. A partial view holds everything a finding *in* that resource
/// depends on and never reads as missing anything, so a rule can judge every view the same way
/// and keep, with [`Findings`], the problems located in the resource it checks. (Full views for
/// every settings resource would make a check cost a pass over the batch per bucket setting.)
///
/// This indexes `batch` for the one call; a rule calls [`buckets_for_report`], which indexes
/// its batch once for every rule and resource.
pub fn buckets_for<'b, 'r>(
    batch: &'b [Resource<'r>],
    resource: &Resource<'_>,
) -> Vec<Bucket<'b, 'r>> {
    Index::new(batch).buckets_for(resource)
}

/// [`buckets_for`] the batch of `report`, over joins built once per batch (see
/// [`Report::batch_index`]): a check costs hash lookups, not a pass over the batch.
pub fn buckets_for_report<'b, 'r>(
    report: &Report<'b, 'r>,
    resource: &Resource<'_>,
) -> Vec<Bucket<'b, 'r>> {
    Index::of(report).buckets_for(resource)
}

/// True when the Terraform reference `target` points into an `aws_s3_bucket` (of any module).
fn names_a_bucket(target: &str) -> bool {
    target.starts_with("aws_s3_bucket.") || target.contains(".aws_s3_bucket.")
}

/// Where each resource of a batch is, by the address of its parsed attributes (what
/// [`iam::same`] compares), built once per batch.
#[derive(Debug, Default)]
pub(crate) struct Positions {
    by_attributes: HashMap<usize, usize>,
}

impl Positions {
    pub(crate) fn new(batch: &[Resource<'_>]) -> Self {
        let mut by_attributes = HashMap::with_capacity(batch.len());
        for (position, resource) in batch.iter().enumerate() {
            by_attributes
                .entry(attributes_address(resource))
                .or_insert(position);
        }
        Positions { by_attributes }
    }

    /// The positions of the batch of `report`, built on first request.
    pub(crate) fn of(report: &Report<'_, '_>) -> Rc<Self> {
        report.batch_index(Positions::new)
    }

    /// [`in_batch`] through the index: `resource` itself when it is one of `batch`.
    pub(crate) fn find<'b, 'r>(
        &self,
        batch: &'b [Resource<'r>],
        resource: &Resource<'_>,
    ) -> Option<(usize, &'b Resource<'r>)> {
        let found = self
            .by_attributes
            .get(&attributes_address(resource))
            .and_then(|&position| Some((position, batch.get(position)?)))
            .filter(|(_, r)| iam::same(r, resource));
        found.or_else(|| {
            batch.iter().enumerate().find(|(_, r)| {
                r.id == resource.id && r.kind == resource.kind && r.file == resource.file
            })
        })
    }
}

fn attributes_address(resource: &Resource<'_>) -> usize {
    resource.attributes as *const Value<'_> as *const () as usize
}

/// Positions in a batch by a scope (the Terraform resources of the batch, or one
/// CloudFormation template) and a name in it.
#[derive(Debug, Default)]
struct Scoped {
    by_scope: HashMap<usize, HashMap<String, Vec<usize>>>,
}

impl Scoped {
    fn push(&mut self, scope: usize, key: &str, position: usize) {
        let keys = self.by_scope.entry(scope).or_default();
        match keys.get_mut(key) {
            Some(positions) => positions.push(position),
            None => {
                keys.insert(key.to_string(), vec![position]);
            }
        }
    }

    fn get(&self, scope: usize, key: &str) -> &[usize] {
        self.by_scope
            .get(&scope)
            .and_then(|keys| keys.get(key))
            .map_or(&[], Vec::as_slice)
    }
}

/// The kinds of the separate settings resources, in the order [`Joins`] files them.
const SETTING_KINDS: [&str; 7] = [
    TF_ACL,
    TF_PUBLIC_ACCESS_BLOCK,
    TF_POLICY,
    TF_ENCRYPTION,
    TF_VERSIONING,
    TF_LOGGING,
    CFN_POLICY,
];

/// Which buckets a value naming a bucket (a settings resource's `bucket`, a logging target)
/// names: those it is known to name, and which of the others of its scope it may name.
struct Named {
    scope: usize,
    buckets: Vec<usize>,
    others: Others,
}

/// The other buckets of its scope a value may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Others {
    None,
    /// Its bucket is not known statically: any bucket.
    All,
    /// A literal name no bucket of the batch has: the buckets whose name is not known.
    UnknownNamed,
}

/// How the buckets of a batch and the resources that configure them join, as positions in the
/// batch: built in one pass (plus one per kind of join), so that a bucket's view costs lookups
/// of its own settings.
#[derive(Debug, Default)]
struct Joins {
    /// The scope of each CloudFormation file holding a bucket (Terraform is scope 0).
    templates: HashMap<String, usize>,
    /// Terraform buckets by address.
    by_address: HashMap<String, Vec<usize>>,
    /// CloudFormation buckets by logical id.
    by_logical_id: Scoped,
    /// Buckets by known name.
    by_name: Scoped,
    /// Account-wide public-access blocks.
    account_blocks: Vec<usize>,
    /// The settings resources known to configure each bucket, in batch order.
    configured_by: HashMap<usize, Vec<usize>>,
    /// Settings resources, by scope and kind (index into [`SETTING_KINDS`]), that may configure
    /// any bucket of the scope they are not known to configure.
    may_configure_any: HashMap<(usize, usize), Vec<usize>>,
    /// Settings resources, by scope and kind, that may configure the buckets whose name is not
    /// known.
    may_configure_unknown_named: HashMap<(usize, usize), Vec<usize>>,
    /// Buckets known to receive access logs of some bucket.
    log_targets: HashSet<usize>,
    /// Scopes where a logging target may be any bucket.
    log_target_any: HashSet<usize>,
    /// Scopes where a logging target may be a bucket whose name is not known.
    log_target_unknown_named: HashSet<usize>,
    /// Bucket policies and buckets, by every address their `policy` reference may point into.
    policy_holders: HashMap<String, Vec<usize>>,
}

impl Joins {
    fn new(batch: &[Resource<'_>]) -> Self {
        let mut joins = Joins::default();
        let mut settings = Vec::new();
        let mut log_sources = Vec::new();
        // A pack's batch holds many other kinds, which cost only this prefix test.
        let s3 = batch.iter().enumerate().filter(|(_, r)| {
            r.kind.starts_with("terraform/aws_s3_")
                || r.kind.starts_with("cloudformation/AWS::S3::")
        });
        for (position, resource) in s3 {
            if is_separate_setting(resource.kind) {
                settings.push(position);
            }
            match resource.kind {
                TF_ACCOUNT_PUBLIC_ACCESS_BLOCK => joins.account_blocks.push(position),
                TF_LOGGING => log_sources.push(position),
                TF_BUCKET | CFN_BUCKET => {
                    log_sources.push(position);
                    joins.add_bucket(position, resource);
                }
                _ => {}
            }
            if matches!(resource.kind, TF_POLICY | TF_BUCKET)
                && let Some(target) = resource.get("/policy/$ref").as_str()
            {
                for id in referred_ids(target) {
                    joins
                        .policy_holders
                        .entry(id.to_string())
                        .or_default()
                        .push(position);
                }
            }
        }
        for position in settings {
            let Some(setting) = batch.get(position) else {
                continue;
            };
            let Some(slot) = SETTING_KINDS.iter().position(|k| *k == setting.kind) else {
                continue;
            };
            let Some(named) = joins.named(setting, bucket_field(setting)) else {
                continue;
            };
            for &bucket in &named.buckets {
                joins
                    .configured_by
                    .entry(bucket)
                    .or_default()
                    .push(position);
            }
            let others = match named.others {
                Others::None => continue,
                Others::All => &mut joins.may_configure_any,
                Others::UnknownNamed => &mut joins.may_configure_unknown_named,
            };
            others
                .entry((named.scope, slot))
                .or_default()
                .push(position);
        }
        for position in log_sources {
            let Some(resource) = batch.get(position) else {
                continue;
            };
            let targets: Vec<&Value<'_>> = match resource.kind {
                TF_BUCKET => resource
                    .get("/logging")
                    .as_array()
                    .map(|blocks| blocks.iter().map(|b| b.get("target_bucket")).collect())
                    .unwrap_or_default(),
                TF_LOGGING => vec![resource.get("/target_bucket")],
                CFN_BUCKET => {
                    let logging = resource.get("/properties/LoggingConfiguration");
                    let target = logging.get("DestinationBucketName");
                    // Without a destination, CloudFormation logs a bucket into itself.
                    if target.is_null() && !logging.is_null() {
                        joins.log_targets.insert(position);
                    }
                    vec![target]
                }
                _ => continue,
            };
            for target in targets {
                let Some(named) = joins.named(resource, target) else {
                    continue;
                };
                joins.log_targets.extend(named.buckets);
                match named.others {
                    Others::None => {}
                    Others::All => {
                        joins.log_target_any.insert(named.scope);
                    }
                    Others::UnknownNamed => {
                        joins.log_target_unknown_named.insert(named.scope);
                    }
                }
            }
        }
        joins
    }

    fn add_bucket(&mut self, position: usize, bucket: &Resource<'_>) {
        let scope = match Source::of(bucket) {
            Some(Source::Terraform) => {
                self.by_address
                    .entry(bucket.id.to_string())
                    .or_default()
                    .push(position);
                0
            }
            Some(Source::CloudFormation) => {
                let next = self.templates.len() + 1;
                let scope = *self
                    .templates
                    .entry(bucket.file.to_string())
                    .or_insert(next);
                if let Some(logical_id) = bucket.get("/logical_id").as_str() {
                    self.by_logical_id.push(scope, logical_id, position);
                }
                scope
            }
            None => return,
        };
        if let Name::Known(name) = bucket_name(bucket) {
            self.by_name.push(scope, name, position);
        }
    }

    /// The scope of `resource`'s joins: every Terraform resource of the batch, or the
    /// resources of one template; `None` when no bucket shares it.
    fn scope(&self, resource: &Resource<'_>) -> Option<usize> {
        match Source::of(resource)? {
            Source::Terraform => Some(0),
            Source::CloudFormation => self.templates.get(resource.file).copied(),
        }
    }

    /// The buckets `value`, written in `from` to name a bucket, names: a literal names the
    /// buckets of that name (none: it may be one whose name is not known); a reference names the
    /// bucket it points into (one not in the batch, or to something else than a bucket: it may
    /// be any). `None` when no bucket shares `from`'s scope.
    fn named(&self, from: &Resource<'_>, value: &Value<'_>) -> Option<Named> {
        let scope = self.scope(from)?;
        let named = |buckets: &[usize], others| {
            Some(Named {
                scope,
                buckets: buckets.to_vec(),
                others,
            })
        };
        if let Some(literal) = value.as_str() {
            let buckets = self.by_name.get(scope, literal);
            let others = if buckets.is_empty() {
                Others::UnknownNamed
            } else {
                Others::None
            };
            return named(buckets, others);
        }
        if value.is_null() {
            return named(&[], Others::None);
        }
        match Source::of(from)? {
            Source::Terraform => {
                let Some(target) = value.get("$ref").as_str() else {
                    return named(&[], Others::All);
                };
                let buckets: Vec<usize> = referred_ids(target)
                    .filter_map(|id| self.by_address.get(id))
                    .flatten()
                    .copied()
                    .collect();
                // Another bucket, whether or not the batch holds it.
                let others = if names_a_bucket(target) {
                    Others::None
                } else {
                    Others::All
                };
                named(&buckets, others)
            }
            Source::CloudFormation => {
                let logical_id = match value.get("$ref") {
                    Value::Null => reference(value),
                    _ => None,
                };
                let Some(logical_id) = logical_id else {
                    return named(&[], Others::All);
                };
                let buckets = self.by_logical_id.get(scope, logical_id);
                let others = if buckets.is_empty() {
                    Others::All
                } else {
                    Others::None
                };
                named(buckets, others)
            }
        }
    }
}

/// The value a settings resource names its bucket with.
fn bucket_field<'r>(setting: &Resource<'r>) -> &'r Value<'r> {
    match Source::of(setting) {
        Some(Source::Terraform) => setting.get("/bucket"),
        Some(Source::CloudFormation) => setting.get("/properties/Bucket"),
        None => &crate::NULL,
    }
}

/// A batch with its joins and policy documents, from which bucket views are read.
struct Index<'b, 'r> {
    batch: &'b [Resource<'r>],
    positions: Rc<Positions>,
    joins: Rc<Joins>,
    documents: Rc<iam::Documents>,
}

impl<'b, 'r> Index<'b, 'r> {
    /// The index of `batch`, built for one use.
    fn new(batch: &'b [Resource<'r>]) -> Self {
        Index {
            batch,
            positions: Rc::new(Positions::new(batch)),
            joins: Rc::new(Joins::new(batch)),
            documents: Rc::new(iam::Documents::new(batch)),
        }
    }

    /// The index of the batch of `report`, shared by every rule and resource of the batch.
    fn of(report: &Report<'b, 'r>) -> Self {
        Index {
            batch: report.batch(),
            positions: Positions::of(report),
            joins: report.batch_index(Joins::new),
            documents: iam::Documents::of(report),
        }
    }

    fn resource(&self, position: usize) -> Option<&'b Resource<'r>> {
        self.batch.get(position)
    }

    fn buckets_for(&self, resource: &Resource<'_>) -> Vec<Bucket<'b, 'r>> {
        let Some((_, this)) = self.positions.find(self.batch, resource) else {
            return Vec::new();
        };
        if BUCKET_KINDS.contains(&this.kind) {
            return vec![self.bucket(this)];
        }
        if is_separate_setting(this.kind) {
            return self.partial_views(this);
        }
        if this.kind != iam::POLICY_DOCUMENT_KIND {
            return Vec::new();
        }
        let holders = self
            .joins
            .policy_holders
            .get(this.id)
            .map_or(&[][..], Vec::as_slice);
        let mut buckets: Vec<Bucket<'b, 'r>> = Vec::new();
        let mut seen = HashSet::new();
        for holder in holders.iter().filter_map(|&h| self.resource(h)) {
            let holder_buckets = if holder.kind == TF_BUCKET {
                vec![self.bucket(holder)]
            } else {
                self.partial_views(holder)
            };
            for bucket in holder_buckets {
                if bucket
                    .resource
                    .is_none_or(|r| seen.insert(attributes_address(r)))
                {
                    buckets.push(bucket);
                }
            }
        }
        buckets
    }

    /// The view of one bucket resource.
    fn bucket(&self, bucket: &'b Resource<'r>) -> Bucket<'b, 'r> {
        let mut view = Bucket::empty(Some(bucket));
        view.read(self, bucket);
        let position = self.positions.find(self.batch, bucket).map(|(p, _)| p);
        let configured = position
            .and_then(|p| self.joins.configured_by.get(&p))
            .map_or(&[][..], Vec::as_slice);
        for setting in configured.iter().filter_map(|&s| self.resource(s)) {
            view.read(self, setting);
        }
        let name = bucket_name(bucket);
        let scope = self.joins.scope(bucket);
        if let Some(scope) = scope {
            let may = |settings: &HashMap<(usize, usize), Vec<usize>>, slot: usize| {
                settings
                    .get(&(scope, slot))
                    .is_some_and(|s| s.iter().any(|s| !configured.contains(s)))
            };
            for (slot, kind) in SETTING_KINDS.iter().enumerate() {
                if may(&self.joins.may_configure_any, slot)
                    || (name == Name::Unknown && may(&self.joins.may_configure_unknown_named, slot))
                {
                    view.mark_maybe(kind);
                }
            }
        }
        self.add_account_blocks(&mut view);
        view.prefer_separate_resources(bucket);
        view.log_target = self.log_target(position, scope, &name, &view);
        view
    }

    fn add_account_blocks(&self, view: &mut Bucket<'b, 'r>) {
        let blocks: Vec<&'b Resource<'r>> = self
            .joins
            .account_blocks
            .iter()
            .filter_map(|&b| self.resource(b))
            .collect();
        view.add_account_blocks(&blocks);
    }

    /// Partial views of what a settings resource configures: one per bucket it names (none
    /// known: one without a bucket), each holding only that resource's settings and the
    /// account-wide blocks. That is all a finding about the resource itself depends on; since
    /// the bucket's other settings are left out, nothing in a partial view reads as missing.
    fn partial_views(&self, setting: &'b Resource<'r>) -> Vec<Bucket<'b, 'r>> {
        let targets = self.join(setting);
        let partial = |bucket: Option<&'b Resource<'r>>| {
            let mut view = Bucket::empty(bucket);
            view.read(self, setting);
            self.add_account_blocks(&mut view);
            view.acls.maybe_elsewhere = true;
            view.public_access_blocks.maybe_elsewhere = true;
            view.policies.maybe_elsewhere = true;
            view.encryption.maybe_elsewhere = true;
            view.versioning.maybe_elsewhere = true;
            view.logging.maybe_elsewhere = true;
            view.log_target = None;
            view
        };
        if targets.is_empty() {
            return vec![partial(None)];
        }
        targets.into_iter().map(|b| partial(Some(b))).collect()
    }

    /// The buckets of the batch a settings resource is known to configure: by name, the
    /// buckets of that name; by reference, the bucket it points into.
    fn join(&self, resource: &Resource<'_>) -> Vec<&'b Resource<'r>> {
        let value = bucket_field(resource);
        let Some(scope) = self.joins.scope(resource) else {
            return Vec::new();
        };
        if let Some(name) = value.as_str() {
            return self
                .joins
                .by_name
                .get(scope, name)
                .iter()
                .filter_map(|&b| self.resource(b))
                .collect();
        }
        let target = match Source::of(resource) {
            Some(Source::Terraform) => value
                .get("$ref")
                .as_str()
                .and_then(|target| self.terraform_bucket(target)),
            Some(Source::CloudFormation) if value.get("$ref").is_null() => reference(value)
                .and_then(|logical_id| self.joins.by_logical_id.get(scope, logical_id).last())
                .copied(),
            _ => None,
        };
        target.and_then(|b| self.resource(b)).into_iter().collect()
    }

    /// The Terraform bucket a reference points into: the one whose address is the longest
    /// prefix of the reference ending at a `.` (`aws_s3_bucket.logs.id` →
    /// `aws_s3_bucket.logs`).
    fn terraform_bucket(&self, target: &str) -> Option<usize> {
        referred_ids(target)
            .find_map(|id| self.joins.by_address.get(id))
            .and_then(|buckets| buckets.last())
            .copied()
    }

    /// Whether the bucket at `position` (named `name`) receives access logs: by its ACL, its
    /// policy, or another bucket's logging.
    fn log_target(
        &self,
        position: Option<usize>,
        scope: Option<usize>,
        name: &Name<'_>,
        view: &Bucket<'_, '_>,
    ) -> Option<bool> {
        if view
            .acls
            .found
            .iter()
            .any(|acl| acl.name == "log-delivery-write")
        {
            return Some(true);
        }
        let grants_logging = view.policies.found.iter().any(|policy| {
            policy.document.statements.iter().any(|statement| {
                statement.allows()
                    && statement
                        .principals
                        .contains("Service", LOG_DELIVERY_SERVICE)
            })
        });
        if grants_logging || position.is_some_and(|p| self.joins.log_targets.contains(&p)) {
            return Some(true);
        }
        let unknown = scope.is_some_and(|scope| {
            self.joins.log_target_any.contains(&scope)
                || (*name == Name::Unknown && self.joins.log_target_unknown_named.contains(&scope))
        });
        if unknown { None } else { Some(false) }
    }
}

/// The resource of `batch` that is `resource` (the same parsed attributes; else the same id,
/// kind and file).
pub fn in_batch<'b, 'r>(
    batch: &'b [Resource<'r>],
    resource: &Resource<'_>,
) -> Option<&'b Resource<'r>> {
    batch.iter().find(|r| iam::same(r, resource)).or_else(|| {
        batch
            .iter()
            .find(|r| r.id == resource.id && r.kind == resource.kind && r.file == resource.file)
    })
}

/// Findings about buckets, each kept only when the resource being checked holds it, once.
///
/// A rule judges every bucket the checked resource takes part in, adds every problem it sees
/// with the setting it is in, and reports: problems in other resources are reported when those
/// are checked, so each lands on its own line exactly once.
pub struct Findings<'c, 'd> {
    checked: &'c Resource<'d>,
    found: Vec<(String, String)>,
}

impl<'c, 'd> Findings<'c, 'd> {
    /// Findings for a check of `checked`.
    pub fn new(checked: &'c Resource<'d>) -> Self {
        Findings {
            checked,
            found: Vec::new(),
        }
    }

    /// A problem at `pointer` in `resource`.
    pub fn add(&mut self, resource: &Resource<'_>, pointer: &str, message: impl Into<String>) {
        if iam::same(resource, self.checked) && !self.found.iter().any(|(p, _)| p == pointer) {
            self.found.push((pointer.to_string(), message.into()));
        }
    }

    /// A problem with `setting`.
    pub fn add_setting(&mut self, setting: &Setting<'_, '_>, message: impl Into<String>) {
        self.add(setting.resource, setting.pointer(), message);
    }

    /// Reports the problems kept.
    pub fn report(self, report: &mut Report<'_, '_>) {
        for (pointer, message) in self.found {
            report.finding(pointer, message);
        }
    }
}

/// Whether a value is set, for the bucket's own blocks: `computed` blocks the provider fills in
/// after apply read as absent when only apply knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Absent,
    Unknown,
    Present,
}

fn present(value: &Value<'_>, computed: bool) -> Presence {
    match value {
        Value::Null => Presence::Absent,
        Value::Array(items) if items.is_empty() => Presence::Absent,
        Value::Str(s) if s.is_empty() => Presence::Absent,
        _ if is_unknown(value) => {
            if computed && value.get("$unknown").as_str() == Some("known after apply") {
                Presence::Absent
            } else {
                Presence::Unknown
            }
        }
        _ => Presence::Present,
    }
}

/// An ACL name in S3's spelling (`PublicRead` → `public-read`).
fn acl_name(name: &str) -> String {
    if name.contains('-') || name.chars().all(|c| !c.is_ascii_uppercase()) {
        return name.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(name.len() + 4);
    for (index, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn terraform_public_access_block<'b, 'r>(resource: &'b Resource<'r>) -> PublicAccessBlock<'b, 'r> {
    PublicAccessBlock::new(
        Setting::at(resource, ""),
        [
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ],
    )
}

/// True for the kinds that configure a bucket named in their `bucket` (`Bucket`) field.
fn is_separate_setting(kind: &str) -> bool {
    matches!(
        kind,
        TF_ACL
            | TF_PUBLIC_ACCESS_BLOCK
            | TF_POLICY
            | TF_ENCRYPTION
            | TF_VERSIONING
            | TF_LOGGING
            | CFN_POLICY
    )
}

/// A bucket's name as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name<'r> {
    Known(&'r str),
    /// Chosen by AWS or the provider (no name given), so nothing can name it literally.
    Generated,
    Unknown,
}

fn bucket_name<'r>(bucket: &Resource<'r>) -> Name<'r> {
    let (value, fallback) = match Source::of(bucket) {
        Some(Source::Terraform) => (bucket.get("/bucket"), bucket.get("/id")),
        Some(Source::CloudFormation) => (bucket.get("/properties/BucketName"), &crate::NULL),
        None => return Name::Unknown,
    };
    if let Some(name) = value.as_str().or_else(|| fallback.as_str()) {
        return Name::Known(name);
    }
    if value.is_null() {
        let prefix = bucket.get("/bucket_prefix");
        if prefix.is_null() || prefix.as_str().is_some() {
            return Name::Generated;
        }
    }
    Name::Unknown
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::OwnedValue;
    use serde_json::json;

    /// Parsed attributes for a batch: `(kind, id, attributes)`.
    pub(crate) fn parse(
        items: &[(&str, &str, serde_json::Value)],
    ) -> Vec<(String, String, OwnedValue)> {
        items
            .iter()
            .map(|(kind, id, attributes)| {
                let value = OwnedValue::from_string(attributes.to_string())
                    .unwrap_or_else(|e| panic!("test attributes of {id}: {e}"));
                (kind.to_string(), id.to_string(), value)
            })
            .collect()
    }

    /// The batch over parsed attributes, all from one file.
    pub(crate) fn batch(parsed: &[(String, String, OwnedValue)]) -> Vec<Resource<'_>> {
        parsed
            .iter()
            .map(|(kind, id, value)| Resource::new(id, kind, "main.tf", value))
            .collect()
    }

    fn find<'b, 'r>(batch: &'b [Resource<'r>], id: &str) -> &'b Resource<'r> {
        batch
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no {id} in the batch"))
    }

    fn view<'b, 'r>(batch: &'b [Resource<'r>], id: &str) -> Bucket<'b, 'r> {
        Bucket::new(batch, find(batch, id))
    }

    #[test]
    fn separate_resources_join_by_reference_and_by_literal_name() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.data",
                json!({"bucket": "acme-data"}),
            ),
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.data_logs",
                json!({"bucket": "acme-data-logs"}),
            ),
            (
                "terraform/aws_s3_bucket_versioning",
                "aws_s3_bucket_versioning.data",
                json!({"bucket": {"$ref": "aws_s3_bucket.data.id"},
                       "versioning_configuration": [{"status": "Suspended"}]}),
            ),
            (
                "terraform/aws_s3_bucket_server_side_encryption_configuration",
                "aws_s3_bucket_server_side_encryption_configuration.data",
                json!({"bucket": "acme-data", "rule": [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms"}]}]}),
            ),
        ]);
        let batch = batch(&parsed);
        let data = view(&batch, "aws_s3_bucket.data");
        let [versioning] = data.versioning.found.as_slice() else {
            panic!("one versioning setting: {:?}", data.versioning.found);
        };
        assert_eq!(
            versioning.status.resource.id,
            "aws_s3_bucket_versioning.data"
        );
        assert_eq!(
            versioning.status.pointer(),
            "/versioning_configuration/0/status"
        );
        assert_eq!(versioning.enabled(), Some(false));
        assert_eq!(data.encryption.found.len(), 1);
        assert!(data.logging.is_missing());
        // `aws_s3_bucket.data_logs` starts with `aws_s3_bucket.data` but is another bucket.
        let logs = view(&batch, "aws_s3_bucket.data_logs");
        assert!(logs.versioning.is_missing() && logs.encryption.is_missing());
    }

    #[test]
    fn a_setting_whose_bucket_is_unknown_is_never_missing_and_is_judged_alone() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.data",
                json!({"bucket": "acme-data"}),
            ),
            (
                "terraform/aws_s3_bucket_versioning",
                "aws_s3_bucket_versioning.data",
                json!({"bucket": {"$unknown": "known after apply"},
                       "versioning_configuration": [{"status": "Suspended"}]}),
            ),
        ]);
        let batch = batch(&parsed);
        let data = view(&batch, "aws_s3_bucket.data");
        assert!(data.versioning.found.is_empty());
        assert!(data.versioning.maybe_elsewhere && !data.versioning.is_missing());
        let alone = buckets_for(&batch, find(&batch, "aws_s3_bucket_versioning.data"));
        let [alone] = alone.as_slice() else {
            panic!("one view: {alone:?}");
        };
        assert!(alone.resource.is_none());
        assert_eq!(alone.versioning.found.len(), 1);
        assert_eq!(alone.log_target, None);
    }

    #[test]
    fn a_literal_name_no_bucket_has_concerns_only_buckets_with_an_unknown_name() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.named",
                json!({"bucket": "acme-named"}),
            ),
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.generated",
                json!({}),
            ),
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.templated",
                json!({"bucket": {"$unknown": "\"${var.env}-data\""}}),
            ),
            (
                "terraform/aws_s3_bucket_public_access_block",
                "aws_s3_bucket_public_access_block.other",
                json!({"bucket": "acme-elsewhere", "block_public_acls": true}),
            ),
        ]);
        let batch = batch(&parsed);
        assert!(
            view(&batch, "aws_s3_bucket.named")
                .public_access_blocks
                .is_missing()
        );
        assert!(
            view(&batch, "aws_s3_bucket.generated")
                .public_access_blocks
                .is_missing()
        );
        assert!(
            !view(&batch, "aws_s3_bucket.templated")
                .public_access_blocks
                .is_missing()
        );
    }

    #[test]
    fn computed_blocks_only_apply_knows_read_as_absent_other_unknowns_do_not() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.planned",
                json!({"bucket": "acme-planned",
                       "versioning": {"$unknown": "known after apply"},
                       "server_side_encryption_configuration": {"$unknown": "known after apply"},
                       "acl": {"$unknown": "known after apply"}}),
            ),
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.dynamic",
                json!({"bucket": "acme-dynamic",
                       "versioning": {"$unknown": "dynamic \"versioning\""},
                       "server_side_encryption_configuration": [{"rule": {"$unknown": "var.rules"}}],
                       "acl": {"$unknown": "var.acl"}}),
            ),
        ]);
        let batch = batch(&parsed);
        let planned = view(&batch, "aws_s3_bucket.planned");
        assert!(planned.versioning.is_missing());
        assert!(planned.encryption.is_missing());
        assert!(planned.acls.is_missing());
        let dynamic = view(&batch, "aws_s3_bucket.dynamic");
        assert!(!dynamic.versioning.is_missing());
        assert!(!dynamic.encryption.is_missing());
        assert!(!dynamic.acls.is_missing() && dynamic.acls.found.is_empty());
    }

    #[test]
    fn the_separate_resource_wins_over_the_buckets_computed_block() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.state",
                json!({"bucket": "acme-state", "versioning": [{"enabled": false, "mfa_delete": false}]}),
            ),
            (
                "terraform/aws_s3_bucket_versioning",
                "aws_s3_bucket_versioning.state",
                json!({"bucket": "acme-state", "versioning_configuration": [{"status": "Enabled"}]}),
            ),
        ]);
        let batch = batch(&parsed);
        let state = view(&batch, "aws_s3_bucket.state");
        let [versioning] = state.versioning.found.as_slice() else {
            panic!("only the separate resource: {:?}", state.versioning.found);
        };
        assert_eq!(versioning.enabled(), Some(true));
    }

    #[test]
    fn cloudformation_policies_join_by_ref_and_by_bucket_name() {
        let parsed = parse(&[
            (
                "cloudformation/AWS::S3::Bucket",
                "AWS::S3::Bucket/Assets",
                json!({"logical_id": "Assets", "properties": {"BucketName": "acme-assets", "AccessControl": "PublicRead"}}),
            ),
            (
                "cloudformation/AWS::S3::BucketPolicy",
                "AWS::S3::BucketPolicy/ByRef",
                json!({"logical_id": "ByRef", "properties": {"Bucket": {"Ref": "Assets"},
                       "PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                         "Resource": {"Fn::Sub": "${Assets.Arn}/*"}}]}}}),
            ),
            (
                "cloudformation/AWS::S3::BucketPolicy",
                "AWS::S3::BucketPolicy/ByName",
                json!({"logical_id": "ByName", "properties": {"Bucket": "acme-assets",
                       "PolicyDocument": {"Statement": {"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "s3:*",
                                                        "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}}}}),
            ),
        ]);
        let batch = batch(&parsed);
        let assets = view(&batch, "AWS::S3::Bucket/Assets");
        let [acl] = assets.acls.found.as_slice() else {
            panic!("one ACL: {:?}", assets.acls.found);
        };
        assert_eq!(acl.name, "public-read");
        assert!(acl.is_public());
        let statements: Vec<_> = assets
            .policies
            .found
            .iter()
            .flat_map(|p| &p.document.statements)
            .map(|s| {
                (
                    s.resource.id,
                    s.pointer.as_str(),
                    s.allows(),
                    s.principals.include_anyone(),
                    s.has_conditions,
                )
            })
            .collect();
        assert_eq!(
            statements,
            [
                (
                    "AWS::S3::BucketPolicy/ByRef",
                    "/properties/PolicyDocument/Statement/0",
                    true,
                    true,
                    Some(false)
                ),
                (
                    "AWS::S3::BucketPolicy/ByName",
                    "/properties/PolicyDocument/Statement",
                    false,
                    true,
                    Some(true)
                ),
            ]
        );
        assert!(assets.public_access_blocks.is_missing());
    }

    #[test]
    fn log_targets_are_told_by_acl_policy_or_another_buckets_logging() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.logs",
                json!({"bucket": "acme-logs"}),
            ),
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.legacy_logs",
                json!({"bucket": "acme-legacy-logs", "acl": "log-delivery-write"}),
            ),
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.app",
                json!({"bucket": "acme-app"}),
            ),
            (
                "terraform/aws_s3_bucket_logging",
                "aws_s3_bucket_logging.app",
                json!({"bucket": {"$ref": "aws_s3_bucket.app.id"}, "target_bucket": {"$ref": "aws_s3_bucket.logs.id"}}),
            ),
        ]);
        let batch = batch(&parsed);
        assert_eq!(view(&batch, "aws_s3_bucket.logs").log_target, Some(true));
        assert_eq!(
            view(&batch, "aws_s3_bucket.legacy_logs").log_target,
            Some(true)
        );
        let app = view(&batch, "aws_s3_bucket.app");
        assert_eq!(app.log_target, Some(false));
        assert_eq!(app.logging.found.len(), 1);

        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.maybe_logs",
                json!({"bucket": "acme-maybe-logs"}),
            ),
            (
                "terraform/aws_s3_bucket_logging",
                "aws_s3_bucket_logging.other",
                json!({"bucket": "acme-other", "target_bucket": {"$unknown": "var.log_bucket"}}),
            ),
        ]);
        let batch = super::tests::batch(&parsed);
        assert_eq!(view(&batch, "aws_s3_bucket.maybe_logs").log_target, None);
    }

    #[test]
    fn a_policy_document_belongs_to_the_buckets_whose_policy_it_builds() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.site",
                json!({"bucket": "acme-site"}),
            ),
            (
                "terraform/aws_s3_bucket_policy",
                "aws_s3_bucket_policy.site",
                json!({"bucket": {"$ref": "aws_s3_bucket.site.id"},
                       "policy": {"$ref": "data.aws_iam_policy_document.site.json"}}),
            ),
            (
                "terraform/data.aws_iam_policy_document",
                "data.aws_iam_policy_document.site",
                json!({"statement": [{"actions": ["s3:GetObject"], "principals": [{"type": "*", "identifiers": ["*"]}]}]}),
            ),
            (
                "terraform/data.aws_iam_policy_document",
                "data.aws_iam_policy_document.site_other",
                json!({"statement": [{"actions": ["s3:GetObject"]}]}),
            ),
        ]);
        let batch = batch(&parsed);
        let buckets = buckets_for(&batch, find(&batch, "data.aws_iam_policy_document.site"));
        let [site] = buckets.as_slice() else {
            panic!("the site bucket: {buckets:?}");
        };
        assert_eq!(site.resource.map(|r| r.id), Some("aws_s3_bucket.site"));
        let statement = &site.policies.found[0].document.statements[0];
        assert_eq!(statement.resource.id, "data.aws_iam_policy_document.site");
        assert_eq!(statement.pointer, "/statement/0");
        assert!(statement.allows() && statement.principals.include_anyone());
        assert!(
            buckets_for(
                &batch,
                find(&batch, "data.aws_iam_policy_document.site_other")
            )
            .is_empty()
        );
    }

    #[test]
    fn public_access_blocks_know_their_flags() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.a",
                json!({"bucket": "acme-a"}),
            ),
            (
                "terraform/aws_s3_bucket_public_access_block",
                "aws_s3_bucket_public_access_block.a",
                json!({"bucket": "acme-a", "block_public_acls": true, "block_public_policy": "true",
                       "ignore_public_acls": {"$unknown": "var.ignore"}}),
            ),
            (
                "terraform/aws_s3_account_public_access_block",
                "aws_s3_account_public_access_block.this",
                json!({"block_public_acls": true, "block_public_policy": true,
                       "ignore_public_acls": true, "restrict_public_buckets": false}),
            ),
        ]);
        let batch = batch(&parsed);
        let a = view(&batch, "aws_s3_bucket.a");
        let [block] = a.public_access_blocks.found.as_slice() else {
            panic!("one block: {:?}", a.public_access_blocks.found);
        };
        assert!(!block.blocks_everything());
        assert!(block.is_partly_unknown());
        assert_eq!(
            block.restrict_public_buckets.pointer(),
            "/restrict_public_buckets"
        );
        assert!(block.restrict_public_buckets.field.is_absent());
        assert_eq!(a.account_public_access_blocks.len(), 1);
        assert!(!a.account_blocks_public_access());
    }

    #[test]
    fn a_settings_resource_sees_a_partial_view_that_lacks_nothing() {
        let parsed = parse(&[
            (
                "terraform/aws_s3_bucket",
                "aws_s3_bucket.a",
                json!({"bucket": "acme-a"}),
            ),
            (
                "terraform/aws_s3_bucket_acl",
                "aws_s3_bucket_acl.a",
                json!({"bucket": {"$ref": "aws_s3_bucket.a.id"}, "acl": "public-read"}),
            ),
            (
                "terraform/aws_s3_account_public_access_block",
                "aws_s3_account_public_access_block.this",
                json!({"block_public_acls": true}),
            ),
        ]);
        let batch = batch(&parsed);
        let views = buckets_for(&batch, find(&batch, "aws_s3_bucket_acl.a"));
        let [view] = views.as_slice() else {
            panic!("one view: {views:?}");
        };
        assert_eq!(view.resource.map(|r| r.id), Some("aws_s3_bucket.a"));
        assert_eq!(view.describe(), "bucket `acme-a`");
        assert_eq!(view.acls.found.len(), 1);
        assert_eq!(view.account_public_access_blocks.len(), 1);
        for missing in [
            view.public_access_blocks.is_missing(),
            view.policies.is_missing(),
            view.encryption.is_missing(),
            view.versioning.is_missing(),
            view.logging.is_missing(),
        ] {
            assert!(!missing);
        }
        assert_eq!(view.log_target, None);
        // The bucket's own view holds the ACL too.
        assert_eq!(
            Bucket::new(&batch, find(&batch, "aws_s3_bucket.a"))
                .acls
                .found
                .len(),
            1
        );
    }

    #[test]
    fn acl_names_are_spelled_as_s3_does() {
        assert_eq!(acl_name("PublicRead"), "public-read");
        assert_eq!(acl_name("AuthenticatedRead"), "authenticated-read");
        assert_eq!(acl_name("LogDeliveryWrite"), "log-delivery-write");
        assert_eq!(acl_name("public-read-write"), "public-read-write");
        assert_eq!(acl_name("private"), "private");
    }

    #[test]
    fn other_kinds_belong_to_no_bucket() {
        let parsed = parse(&[(
            "terraform/aws_instance",
            "aws_instance.web",
            json!({"ami": "ami-1"}),
        )]);
        let batch = batch(&parsed);
        assert!(buckets_for(&batch, &batch[0]).is_empty());
    }
}
