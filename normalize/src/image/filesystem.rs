//! `image/filesystem` and `image/packages`: an image's layers streamed, each checked against its
//! digest, into the merged file tree, and the OS packages its databases list.

use serde_json::{Map, Value, json};

use super::layers::{Compression, LayerLimits, Merged, Merger};
use super::model::{Manifest, short};
use super::packages::{self, Package};
use super::resources::Image;
use super::store::Verified;
use super::{ImageStore, diagnostic};
use crate::{DetailTable, Normalized, Resource, SpanTable};

pub const FILESYSTEM_KIND: &str = "image/filesystem";
pub const PACKAGES_KIND: &str = "image/packages";

/// Streams every layer of `manifest` into one tree and adds the `image/filesystem` and
/// `image/packages` resources. A layer that cannot be read (an unknown media type, a digest
/// that does not match, a corrupt or oversized stream) is an error and the image gets neither
/// resource: a partial tree would judge an image that does not exist.
pub(super) fn read_layers(
    store: &mut dyn ImageStore,
    manifest: &Manifest,
    image: &Image,
    limits: &LayerLimits,
    out: &mut Normalized,
) {
    let display = store.display().to_owned();
    let mut merger = Merger::new(*limits);
    for (index, layer) in manifest.layers.iter().enumerate() {
        let name = format!("layer {index} ({})", short(&layer.digest));
        let Some(compression) = Compression::from_media_type(&layer.media_type) else {
            out.diagnostics.push(diagnostic(
                &display,
                format!(
                    "{name}: media type `{}` is not an image layer; the file system is not checked",
                    layer.media_type
                ),
            ));
            return;
        };
        let read = store
            .blob(&layer.digest, layer.size)
            .and_then(|blob| Verified::new(blob, &layer.digest, layer.size))
            .map_err(|e| e.message)
            .and_then(|blob| {
                merger
                    .add_layer(index, compression, blob)
                    .map_err(|e| e.message)
            });
        if let Err(message) = read {
            out.diagnostics.push(diagnostic(
                &display,
                format!("{name}: {message}; the file system is not checked"),
            ));
            return;
        }
    }
    let merged = merger.finish();
    for problem in &merged.problems {
        let digest = image
            .layer_digests
            .get(problem.layer)
            .map_or("", String::as_str);
        out.diagnostics.push(diagnostic(
            &display,
            format!(
                "layer {} ({}): `{}`: {}",
                problem.layer,
                short(digest),
                problem.path,
                problem.message
            ),
        ));
    }
    let (packages, problems) = packages::read_packages(&merged.captured);
    for problem in problems {
        out.diagnostics.push(diagnostic(
            &display,
            format!("{}: {}", problem.database, problem.message),
        ));
    }
    out.resources.push(filesystem_resource(image, &merged));
    out.resources.push(packages_resource(image, &packages));
}

/// Where a layer is, as details name it.
fn layer_name(image: &Image, layer: usize) -> String {
    match image.layer_digests.get(layer) {
        Some(digest) => format!("layer {}", short(digest)),
        None => format!("layer {layer}"),
    }
}

fn filesystem_resource(image: &Image, merged: &Merged) -> Resource {
    let mut details = DetailTable::default();
    details.insert(String::new(), image.reference.clone());
    let layers: Vec<Value> = merged
        .layers
        .iter()
        .enumerate()
        .map(|(i, stats)| {
            details.insert(format!("/layers/{i}"), layer_name(image, i));
            json!({
                "digest": image.layer_digests.get(i),
                "entries": stats.entries,
                "size": stats.bytes,
            })
        })
        .collect();
    let mut total_size = 0u64;
    let files: Vec<Value> = merged
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            total_size += file.size;
            details.insert(
                format!("/files/{i}"),
                format!("{} {}", layer_name(image, file.layer), file.path),
            );
            let mut entry = Map::with_capacity(13);
            entry.insert("path".into(), json!(file.path));
            entry.insert("type".into(), json!(file.kind.as_str()));
            entry.insert("mode".into(), json!(file.mode));
            entry.insert("uid".into(), json!(file.uid));
            entry.insert("gid".into(), json!(file.gid));
            entry.insert("size".into(), json!(file.size));
            entry.insert("setuid".into(), json!(file.mode & 0o4000 != 0));
            entry.insert("setgid".into(), json!(file.mode & 0o2000 != 0));
            entry.insert("sticky".into(), json!(file.mode & 0o1000 != 0));
            entry.insert("world_writable".into(), json!(file.mode & 0o002 != 0));
            if let Some(link) = &file.link {
                entry.insert("link".into(), json!(link));
            }
            entry.insert("layer".into(), json!(file.layer));
            if let Some(content) = file.content {
                entry.insert("content".into(), json!(content.as_str()));
            }
            Value::Object(entry)
        })
        .collect();
    let removed: Vec<Value> = merged
        .removed
        .iter()
        .enumerate()
        .map(|(i, gone)| {
            details.insert(
                format!("/removed/{i}"),
                format!(
                    "{} {} (removed in {})",
                    layer_name(image, gone.layer),
                    gone.path,
                    layer_name(image, gone.removed_in)
                ),
            );
            json!({"path": gone.path, "layer": gone.layer, "removed_in": gone.removed_in})
        })
        .collect();
    let attributes = json!({
        "reference": image.reference,
        "digest": image.digest,
        "layers": layers,
        "files": files,
        "removed": removed,
        "total_size": total_size,
    });
    image_resource(image, FILESYSTEM_KIND, attributes, details)
}

fn packages_resource(image: &Image, packages: &[Package]) -> Resource {
    let mut details = DetailTable::default();
    details.insert(String::new(), image.reference.clone());
    let list: Vec<Value> = packages
        .iter()
        .enumerate()
        .map(|(i, package)| {
            details.insert(
                format!("/packages/{i}"),
                format!(
                    "{} {} {} {}",
                    layer_name(image, package.layer),
                    package.database,
                    package.name,
                    package.version
                ),
            );
            json!({
                "name": package.name,
                "version": package.version,
                "source": package.source,
                "arch": package.arch,
                "manager": package.manager,
                "database": package.database,
                "layer": package.layer,
            })
        })
        .collect();
    let attributes = json!({
        "reference": image.reference,
        "digest": image.digest,
        "packages": list,
    });
    image_resource(image, PACKAGES_KIND, attributes, details)
}

fn image_resource(image: &Image, kind: &str, attributes: Value, details: DetailTable) -> Resource {
    Resource {
        id: image.id(),
        kind: kind.to_owned(),
        file: image.file.clone(),
        line: 0,
        end_line: 0,
        attributes,
        spans: SpanTable::default(),
        details,
    }
}
