//! From manifests and configs to `image/config` and `image/manifest` resources, for images in a
//! store (located by details) and for bare JSON files (located by lines).

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::layers::Compression;
use super::model::{self, Descriptor, Index, Manifest, Platform, PlatformChoice, short};
use super::store::read_verified;
use super::{Fetched, ImageOptions, ImageStore, diagnostic};
use crate::yaml::{self, ParseErrorKind};
use crate::{DetailTable, Diagnostic, Limits, Normalized, Resource, Span, SpanTable};

pub const CONFIG_KIND: &str = "image/config";
pub const MANIFEST_KIND: &str = "image/manifest";

/// Indexes inside indexes are followed this deep.
const MAX_INDEX_DEPTH: usize = 2;

/// Reads one manifest or index a store named, and every image below it.
pub(super) fn read_root(
    store: &mut dyn ImageStore,
    root: Fetched,
    options: &ImageOptions,
    out: &mut Normalized,
) {
    read_document(store, root, None, 0, options, out);
}

/// The image a manifest describes, as far as the walk down from the root has placed it.
struct Placement {
    index_digest: Option<String>,
    platform: Option<Platform>,
}

fn read_document(
    store: &mut dyn ImageStore,
    fetched: Fetched,
    placement: Option<Placement>,
    depth: usize,
    options: &ImageOptions,
    out: &mut Normalized,
) {
    let display = store.display().to_owned();
    let what = fetched.digest.as_deref().map_or_else(
        || "manifest".to_owned(),
        |d| format!("manifest {}", short(d)),
    );
    if let Some(digest) = &fetched.digest {
        let actual = format!("sha256:{:x}", Sha256::digest(&fetched.bytes));
        if &actual != digest {
            out.diagnostics.push(diagnostic(
                &display,
                format!(
                    "{what} does not match its digest (its content hashes to {})",
                    short(&actual)
                ),
            ));
            return;
        }
    }
    let json: Value = match serde_json::from_slice(&fetched.bytes) {
        Ok(json) => json,
        Err(error) => {
            out.diagnostics.push(diagnostic(
                &display,
                format!("{what} is not valid JSON: {error}"),
            ));
            return;
        }
    };
    if !model::is_index(fetched.media_type.as_deref(), &json) {
        match serde_json::from_value::<Manifest>(json.clone()) {
            Ok(manifest) => {
                let placement = placement.unwrap_or(Placement {
                    index_digest: None,
                    platform: None,
                });
                read_image(
                    store,
                    &manifest,
                    &json,
                    fetched.digest,
                    placement,
                    options,
                    out,
                );
            }
            Err(error) => out.diagnostics.push(diagnostic(
                &display,
                format!("{what} is not an image manifest: {error}"),
            )),
        }
        return;
    }
    let index = match serde_json::from_value::<Index>(json) {
        Ok(index) => index,
        Err(error) => {
            out.diagnostics.push(diagnostic(
                &display,
                format!("{what} is not an image index: {error}"),
            ));
            return;
        }
    };
    if depth >= MAX_INDEX_DEPTH {
        out.diagnostics.push(diagnostic(
            &display,
            format!("{what}: indexes nested deeper than {MAX_INDEX_DEPTH} levels are not read"),
        ));
        return;
    }
    let images: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| !is_attestation(d))
        .collect();
    let chosen: Vec<&Descriptor> = match &options.platform {
        PlatformChoice::All => images.clone(),
        PlatformChoice::Only(wanted) => images
            .iter()
            .copied()
            .filter(|d| d.platform.as_ref().is_none_or(|p| wanted.accepts(p)))
            .collect(),
    };
    if chosen.is_empty() {
        let offered: Vec<String> = images
            .iter()
            .filter_map(|d| d.platform.as_ref().map(Platform::to_string))
            .collect();
        let wanted = match &options.platform {
            PlatformChoice::Only(p) => p.to_string(),
            PlatformChoice::All => "any platform".to_owned(),
        };
        out.diagnostics.push(diagnostic(
            &display,
            format!(
                "{what} has no image for {wanted} (it has: {}); choose one with --platform",
                if offered.is_empty() {
                    "none".to_owned()
                } else {
                    offered.join(", ")
                }
            ),
        ));
        return;
    }
    for descriptor in chosen {
        match store.manifest(&descriptor.digest, descriptor.size) {
            Ok(mut child) => {
                child.digest = Some(descriptor.digest.clone());
                if child.media_type.is_none() && !descriptor.media_type.is_empty() {
                    child.media_type = Some(descriptor.media_type.clone());
                }
                let placement = Placement {
                    index_digest: fetched.digest.clone(),
                    platform: descriptor.platform.clone(),
                };
                read_document(store, child, Some(placement), depth + 1, options, out);
            }
            Err(error) => out.diagnostics.push(diagnostic(
                &display,
                format!("manifest {}: {error}", short(&descriptor.digest)),
            )),
        }
    }
}

/// BuildKit lists provenance and SBOM attestations in an index beside the images.
fn is_attestation(descriptor: &Descriptor) -> bool {
    descriptor
        .annotations
        .get("vnd.docker.reference.type")
        .is_some_and(|t| t == "attestation-manifest")
        || descriptor
            .platform
            .as_ref()
            .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
}

fn read_image(
    store: &mut dyn ImageStore,
    manifest: &Manifest,
    manifest_json: &Value,
    manifest_digest: Option<String>,
    placement: Placement,
    options: &ImageOptions,
    out: &mut Normalized,
) {
    let display = store.display().to_owned();
    let config = &manifest.config;
    let config_bytes = store
        .blob(&config.digest, config.size)
        .and_then(|reader| read_verified(reader, &config.digest, config.size, "config"));
    let config_bytes = match config_bytes {
        Ok(bytes) => bytes,
        Err(error) => {
            out.diagnostics.push(diagnostic(
                &display,
                format!("config {}: {error}", short(&config.digest)),
            ));
            return;
        }
    };
    let config_json: Value = match serde_json::from_slice(&config_bytes) {
        Ok(json) => json,
        Err(error) => {
            out.diagnostics.push(diagnostic(
                &display,
                format!(
                    "config {} is not valid JSON: {error}",
                    short(&config.digest)
                ),
            ));
            return;
        }
    };
    let digest = manifest_digest.unwrap_or_else(|| config.digest.clone());
    let image = Image {
        reference: display.clone(),
        file: store.file().to_owned(),
        digest: digest.clone(),
        layer_digests: manifest.layers.iter().map(|l| l.digest.clone()).collect(),
    };
    let mut platform = placement.platform;
    if platform.is_none() {
        platform = serde_json::from_value::<Platform>(config_json.clone()).ok();
    }
    out.resources.push(config_resource(
        &image,
        &config.digest,
        &config_json,
        &mut Located::Details(DetailTable::default()),
    ));
    out.resources.push(manifest_resource(
        &image,
        manifest_json,
        placement.index_digest.as_deref(),
        platform.as_ref(),
        &mut Located::Details(DetailTable::default()),
    ));
    super::filesystem::read_layers(store, manifest, &image, &options.layer_limits, out);
}

/// What the resources of one image share.
pub(super) struct Image {
    /// The image as the user named it.
    pub reference: String,
    /// The file its findings point at.
    pub file: String,
    /// The manifest's digest (the config's for an image without one).
    pub digest: String,
    /// The manifest's layer digests, bottom first.
    pub layer_digests: Vec<String>,
}

impl Image {
    pub fn id(&self) -> String {
        format!("image/{}", self.digest)
    }
}

/// How a resource's values are placed: by the lines of a JSON file, or by details.
pub(super) enum Located<'a> {
    /// A bare JSON file: the raw document's spans, and the spans of the resource built.
    Lines {
        raw: &'a SpanTable,
        spans: SpanTable,
    },
    /// An image from a store: where each value lives.
    Details(DetailTable),
}

impl Located<'_> {
    /// Records that the value at `pointer` comes from `raw` in the source document, shown as
    /// `detail` when the source has no lines.
    fn place(&mut self, pointer: &str, raw: &str, detail: impl FnOnce() -> String) {
        match self {
            Located::Lines { raw: table, spans } => {
                if let Some(span) = table.locate(raw) {
                    spans.insert(pointer.to_owned(), *span);
                }
            }
            Located::Details(details) => details.insert(pointer.to_owned(), detail()),
        }
    }

    /// Records the line of a value whose detail is its parent's.
    fn place_line(&mut self, pointer: &str, raw: &str) {
        if let Located::Lines { raw: table, spans } = self
            && let Some(span) = table.get(raw)
        {
            spans.insert(pointer.to_owned(), *span);
        }
    }

    fn into_tables(self) -> (SpanTable, DetailTable) {
        match self {
            Located::Lines { spans, .. } => (spans, DetailTable::default()),
            Located::Details(details) => (SpanTable::default(), details),
        }
    }
}

fn resource(image: &Image, kind: &str, attributes: Value, located: &mut Located<'_>) -> Resource {
    let taken = std::mem::replace(located, Located::Details(DetailTable::default()));
    let (spans, details) = taken.into_tables();
    let line = spans.get("").map_or(0, |s| s.line);
    let end_line = spans.iter().map(|(_, s)| s.line).max().unwrap_or(line);
    Resource {
        id: image.id(),
        kind: kind.to_owned(),
        file: image.file.clone(),
        line,
        end_line,
        attributes,
        spans,
        details,
    }
}

/// The `image/config` resource of a config document.
pub(super) fn config_resource(
    image: &Image,
    config_digest: &str,
    raw: &Value,
    located: &mut Located<'_>,
) -> Resource {
    let section = raw.get("config").unwrap_or(&Value::Null);
    let text = |key: &str| section.get(key).and_then(Value::as_str).unwrap_or("");
    let strings = |key: &str| -> Value {
        match section.get(key).and_then(Value::as_array) {
            Some(items) => Value::Array(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(|s| Value::String(s.to_owned())))
                    .collect(),
            ),
            None => Value::Null,
        }
    };
    located.place("", "", || image.reference.clone());
    let mut attributes = Map::new();
    attributes.insert("reference".into(), json!(image.reference));
    attributes.insert("digest".into(), json!(image.digest));
    attributes.insert("config_digest".into(), json!(config_digest));
    for key in ["os", "architecture"] {
        attributes.insert(key.into(), raw.get(key).cloned().unwrap_or(Value::Null));
        located.place(&format!("/{key}"), &format!("/{key}"), || {
            format!("config {key}")
        });
    }
    attributes.insert(
        "variant".into(),
        raw.get("variant").cloned().unwrap_or(Value::Null),
    );
    attributes.insert(
        "created".into(),
        raw.get("created").cloned().unwrap_or(Value::Null),
    );
    attributes.insert("user".into(), json!(text("User")));
    located.place("/user", "/config/User", || "config User".to_owned());

    let env: Vec<Value> = section
        .get("Env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .enumerate()
        .map(|(i, entry)| {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            let pointer = format!("/env/{i}");
            located.place(&pointer, &format!("/config/Env/{i}"), || {
                format!("config Env {name}")
            });
            json!({"name": name, "value": value})
        })
        .collect();
    attributes.insert("env".into(), Value::Array(env));

    let ports: Vec<Value> = section
        .get("ExposedPorts")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, (spec, _))| {
            let (port, protocol) = spec.split_once('/').unwrap_or((spec, "tcp"));
            located.place(
                &format!("/exposed_ports/{i}"),
                &format!("/config/ExposedPorts/{}", escape(spec)),
                || format!("config ExposedPorts {spec}"),
            );
            json!({"port": port.parse::<u16>().ok(), "protocol": protocol.to_ascii_lowercase()})
        })
        .collect();
    attributes.insert("exposed_ports".into(), Value::Array(ports));

    for (key, raw_key) in [("entrypoint", "Entrypoint"), ("cmd", "Cmd")] {
        attributes.insert(key.into(), strings(raw_key));
        located.place(&format!("/{key}"), &format!("/config/{raw_key}"), || {
            format!("config {raw_key}")
        });
    }
    attributes.insert("working_dir".into(), json!(text("WorkingDir")));
    located.place("/working_dir", "/config/WorkingDir", || {
        "config WorkingDir".to_owned()
    });

    let mut labels = Map::new();
    for (name, value) in section
        .get("Labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let pointer = format!("/labels/{}", escape(name));
        located.place(
            &pointer,
            &format!("/config/Labels/{}", escape(name)),
            || format!("config Labels {name}"),
        );
        labels.insert(name.clone(), json!(value.as_str().unwrap_or_default()));
    }
    attributes.insert("labels".into(), Value::Object(labels));
    located.place("/labels", "/config/Labels", || "config Labels".to_owned());
    attributes.insert(
        "stop_signal".into(),
        section
            .get("StopSignal")
            .and_then(Value::as_str)
            .map_or(Value::Null, |s| json!(s)),
    );
    let volumes: Vec<Value> = section
        .get("Volumes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(path, _)| json!(path))
        .collect();
    attributes.insert("volumes".into(), Value::Array(volumes));

    let healthcheck = section
        .get("Healthcheck")
        .and_then(Value::as_object)
        .map(|h| {
            let number = |key: &str| h.get(key).and_then(Value::as_i64).unwrap_or(0);
            json!({
                "test": h.get("Test").cloned().unwrap_or(Value::Array(Vec::new())),
                "interval_ns": number("Interval"),
                "timeout_ns": number("Timeout"),
                "retries": number("Retries"),
            })
        });
    attributes.insert("healthcheck".into(), healthcheck.unwrap_or(Value::Null));
    located.place("/healthcheck", "/config/Healthcheck", || {
        "config Healthcheck".to_owned()
    });

    // Each history entry that made a layer belongs to the next layer, bottom first.
    let mut layers = image.layer_digests.iter();
    let diff_ids: Vec<&str> = raw
        .pointer("/rootfs/diff_ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut diff_ids = diff_ids.into_iter();
    let history: Vec<Value> = raw
        .get("history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, entry)| {
            let empty = entry
                .get("empty_layer")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let layer = if empty {
                None
            } else {
                let diff_id = diff_ids.next();
                layers
                    .next()
                    .map(String::as_str)
                    .or(diff_id)
                    .map(str::to_owned)
            };
            let field = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
            let created_by = field("created_by");
            for key in ["created_by", "created", "comment"] {
                let pointer = format!("/history/{i}/{key}");
                located.place_line(&pointer, &pointer);
            }
            located.place(
                &format!("/history/{i}"),
                &format!("/history/{i}"),
                || match &layer {
                    Some(layer) => format!("history {i} (layer {})", short(layer)),
                    None => format!("history {i}"),
                },
            );
            json!({
                "created_by": created_by,
                "created": field("created"),
                "comment": field("comment"),
                "empty_layer": empty,
                "layer": layer,
            })
        })
        .collect();
    attributes.insert("history".into(), Value::Array(history));
    resource(image, CONFIG_KIND, Value::Object(attributes), located)
}

/// The `image/manifest` resource of a manifest document.
pub(super) fn manifest_resource(
    image: &Image,
    raw: &Value,
    index_digest: Option<&str>,
    platform: Option<&Platform>,
    located: &mut Located<'_>,
) -> Resource {
    let descriptor = |d: &Value| {
        json!({
            "digest": d.get("digest").cloned().unwrap_or(Value::Null),
            "size": d.get("size").and_then(Value::as_u64).unwrap_or(0),
            "media_type": d.get("mediaType").cloned().unwrap_or(Value::Null),
        })
    };
    located.place("", "", || image.reference.clone());
    let layers: Vec<Value> = raw
        .get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, layer)| {
            let mut value = descriptor(layer);
            let media_type = layer.get("mediaType").and_then(Value::as_str).unwrap_or("");
            value["compression"] = json!(
                Compression::from_media_type(media_type).map_or("unknown", Compression::as_str)
            );
            let digest = layer.get("digest").and_then(Value::as_str).unwrap_or("");
            located.place(&format!("/layers/{i}"), &format!("/layers/{i}"), || {
                format!("layer {}", short(digest))
            });
            value
        })
        .collect();
    let total_size: u64 = layers
        .iter()
        .filter_map(|l| l.get("size").and_then(Value::as_u64))
        .sum();
    let annotations = raw
        .get("annotations")
        .filter(|a| a.is_object())
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let annotation = |key: &str| annotations.get(key).cloned().unwrap_or(Value::Null);
    located.place("/annotations", "/annotations", || {
        "manifest annotations".to_owned()
    });
    located.place("/config", "/config", || "manifest config".to_owned());
    let attributes = json!({
        "reference": image.reference,
        "digest": image.digest,
        "media_type": raw.get("mediaType").cloned().unwrap_or(Value::Null),
        "index_digest": index_digest,
        "platform": platform.map(|p| json!({
            "os": p.os, "architecture": p.architecture, "variant": p.variant,
        })),
        "config": descriptor(raw.get("config").unwrap_or(&Value::Null)),
        "layers": layers,
        "base_image": {
            "name": annotation("org.opencontainers.image.base.name"),
            "digest": annotation("org.opencontainers.image.base.digest"),
        },
        "annotations": annotations,
        "total_size": total_size,
    });
    resource(image, MANIFEST_KIND, attributes, located)
}

/// A JSON pointer reference token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// True when a JSON text is an image config (`rootfs` with `diff_ids`, an OS and architecture).
pub fn looks_like_config(text: &str) -> bool {
    text.contains("\"diff_ids\"")
        && text.contains("\"rootfs\"")
        && serde_json::from_str::<Value>(text).is_ok_and(|json| {
            json.pointer("/rootfs/diff_ids")
                .is_some_and(Value::is_array)
                && json.get("architecture").is_some_and(Value::is_string)
        })
}

/// True when a JSON text is an image manifest (a `config` descriptor and `layers`).
pub fn looks_like_manifest(text: &str) -> bool {
    text.contains("\"schemaVersion\"")
        && text.contains("\"layers\"")
        && serde_json::from_str::<Value>(text).is_ok_and(|json| {
            json.pointer("/config/digest").is_some_and(Value::is_string)
                && json.get("layers").is_some_and(Value::is_array)
        })
}

/// Normalizes a bare image config or manifest JSON file; its values keep their lines. The
/// resource id is the file's own digest, as a registry would name it.
pub fn normalize_json(display: &str, text: &str, limits: &Limits) -> Normalized {
    let mut out = Normalized {
        recognized: true,
        ..Normalized::default()
    };
    let (documents, error) = yaml::parse_json(text, limits);
    if let Some(error) = error {
        out.diagnostics.push(Diagnostic {
            file: display.to_owned(),
            line: Some(error.line),
            message: match error.kind {
                ParseErrorKind::Syntax => format!("invalid JSON: {}", error.message),
                ParseErrorKind::Limit => format!("stopped reading JSON: {}", error.message),
            },
        });
        return out;
    }
    let Some(document) = documents.into_iter().next() else {
        return out;
    };
    let mut raw_spans = SpanTable::default();
    document.record_spans(&mut String::new(), &mut raw_spans);
    raw_spans.insert(
        String::new(),
        Span {
            line: document.line,
            column: document.column,
        },
    );
    let raw = document.into_json();
    let digest = format!("sha256:{:x}", Sha256::digest(text.as_bytes()));
    let mut located = Located::Lines {
        raw: &raw_spans,
        spans: SpanTable::default(),
    };
    if looks_like_config(text) {
        let image = Image {
            reference: display.to_owned(),
            file: display.to_owned(),
            digest: digest.clone(),
            layer_digests: Vec::new(),
        };
        out.resources
            .push(config_resource(&image, &digest, &raw, &mut located));
    } else if looks_like_manifest(text) {
        let image = Image {
            reference: display.to_owned(),
            file: display.to_owned(),
            digest,
            layer_digests: Vec::new(),
        };
        out.resources
            .push(manifest_resource(&image, &raw, None, None, &mut located));
    } else {
        out.diagnostics.push(Diagnostic {
            file: display.to_owned(),
            line: None,
            message:
                "not an image config or manifest (no `rootfs.diff_ids`, no `config` and `layers`)"
                    .to_owned(),
        });
    }
    out
}
