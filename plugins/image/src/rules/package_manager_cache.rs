//! `image/package-manager-cache`: package manager caches must not ship in the image.

use palisade_sdk::image::File;
use palisade_sdk::{Report, Resource, Rule, Severity, image};

use super::human_size;

pub const RULE: Rule = Rule {
    id: "image/package-manager-cache",
    title: "Package manager cache left in the image",
    severity: Severity::Low,
    kinds: image::FILESYSTEM_KINDS,
    description: "Package indexes and downloaded packages are only needed while installing: \
left in the image they add megabytes to every pull and every node's disk, and stale package \
lists make a later `apt-get install` in a derived image install outdated versions. This rule \
judges `image/filesystem`, the image's merged file tree, and reports one finding per cache \
directory that still holds files, with their count and total size, pointing at the directory \
(or its first file when the directory entry itself is not in the tree):\n
- `/var/lib/apt/lists` (apt package lists; its `lock` and `partial/` do not count);\n
- `/var/cache/apt/archives` (downloaded `.deb` files);\n
- `/var/cache/apk` (Alpine), `/var/cache/yum` and `/var/cache/dnf` (Red Hat);\n
- pip's cache `~/.cache/pip` and npm's cache `~/.npm/_cacache`, for `/root` and every \
`/home/<user>`.\n
A cache deleted in a later layer is not in the merged tree and is not reported, although it \
still takes space in the earlier layer.\n
Example: `RUN apt-get update && apt-get install -y curl` without `rm -rf /var/lib/apt/lists/*`.",
    remediation: "Clean up in the same `RUN` that fills the cache, so it never lands in a \
layer: `apt-get update && apt-get install -y --no-install-recommends … && rm -rf \
/var/lib/apt/lists/*`; `apk add --no-cache …`; `dnf install -y … && dnf clean all`; \
`pip install --no-cache-dir …`; `npm ci && npm cache clean --force`. Better still, use a cache \
mount, which keeps the cache between builds and out of the image: \
`RUN --mount=type=cache,target=/var/cache/apt …`.",
    help_uri: Some("https://docs.docker.com/build/building/best-practices/#apt-get"),
    tags: &["image-size", "hygiene"],
    check,
};

/// The kinds of cache, with what they are and how to avoid them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cache {
    AptLists,
    AptArchives,
    Apk,
    Yum,
    Dnf,
    Pip,
    Npm,
}

impl Cache {
    fn what(self) -> &'static str {
        match self {
            Cache::AptLists => "apt package lists",
            Cache::AptArchives => "downloaded apt packages",
            Cache::Apk => "apk package cache",
            Cache::Yum => "yum cache",
            Cache::Dnf => "dnf cache",
            Cache::Pip => "pip cache",
            Cache::Npm => "npm cache",
        }
    }

    fn fix(self) -> &'static str {
        match self {
            Cache::AptLists => {
                "add `&& rm -rf /var/lib/apt/lists/*` to the RUN that runs `apt-get update`"
            }
            Cache::AptArchives => "add `&& apt-get clean` to the RUN that installs packages",
            Cache::Apk => "use `apk add --no-cache`",
            Cache::Yum => "add `&& yum clean all` to the RUN that installs packages",
            Cache::Dnf => "add `&& dnf clean all` to the RUN that installs packages",
            Cache::Pip => "use `pip install --no-cache-dir`",
            Cache::Npm => "add `&& npm cache clean --force` to the RUN that installs packages",
        }
    }
}

/// Caches at fixed places: (directory, kind).
const SYSTEM_CACHES: &[(&str, Cache)] = &[
    ("/var/lib/apt/lists", Cache::AptLists),
    ("/var/cache/apt/archives", Cache::AptArchives),
    ("/var/cache/apk", Cache::Apk),
    ("/var/cache/yum", Cache::Yum),
    ("/var/cache/dnf", Cache::Dnf),
];

/// Caches below a home directory: (path below the home, kind).
const HOME_CACHES: &[(&str, Cache)] = &[(".cache/pip", Cache::Pip), (".npm/_cacache", Cache::Npm)];

/// One cache directory found, with what it holds.
struct Found<'a> {
    root: &'a str,
    cache: Cache,
    files: u64,
    bytes: u64,
    first: usize,
}

fn check(resource: &Resource, report: &mut Report) {
    let Some(filesystem) = image::filesystem(resource) else {
        return;
    };
    let mut found: Vec<Found> = Vec::new();
    for file in filesystem.files().filter(File::is_regular) {
        let Some((root, cache)) = cache_of(file.path) else {
            continue;
        };
        match found.iter_mut().find(|f| f.root == root) {
            Some(entry) => {
                entry.files += 1;
                entry.bytes += file.size;
            }
            None => found.push(Found {
                root,
                cache,
                files: 1,
                bytes: file.size,
                first: file.index,
            }),
        }
    }
    for entry in found.iter().filter(|f| f.bytes > 0) {
        // The directory's own entry reads best; files are sorted, so it comes first.
        let pointer = filesystem
            .files()
            .find(|f| f.is_dir() && f.path == entry.root)
            .map_or_else(|| format!("/files/{}", entry.first), |dir| dir.pointer());
        report.finding(
            pointer,
            format!(
                "{} left in `{}`: {} {}, {}; {}",
                entry.cache.what(),
                entry.root,
                entry.files,
                if entry.files == 1 { "file" } else { "files" },
                human_size(entry.bytes),
                entry.cache.fix()
            ),
        );
    }
}

/// The cache directory a regular file belongs to, and its kind.
fn cache_of(path: &str) -> Option<(&str, Cache)> {
    for (root, cache) in SYSTEM_CACHES {
        let Some(rest) = path.strip_prefix(root).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let counts = match cache {
            Cache::AptLists => rest != "lock" && !rest.starts_with("partial/"),
            Cache::AptArchives => rest.ends_with(".deb"),
            _ => true,
        };
        return counts.then_some((&path[..root.len()], *cache));
    }
    let home_length = if path.starts_with("/root/") {
        "/root".len()
    } else {
        let user = path.strip_prefix("/home/")?;
        "/home/".len() + user.find('/')?
    };
    let below = &path[home_length + 1..];
    HOME_CACHES.iter().find_map(|(dir, cache)| {
        below
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
            .then(|| (&path[..home_length + 1 + dir.len()], *cache))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{filesystem, findings};
    use super::*;
    use palisade_sdk::serde_json::json;

    const ID: &str = "image/package-manager-cache";
    const KIND: &str = "image/filesystem";

    #[test]
    fn cache_roots_are_recognized() {
        let cases = [
            (
                "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease",
                Some(("/var/lib/apt/lists", Cache::AptLists)),
            ),
            ("/var/lib/apt/lists/lock", None),
            ("/var/lib/apt/lists/partial/x", None),
            (
                "/var/cache/apt/archives/curl_8.5.0_amd64.deb",
                Some(("/var/cache/apt/archives", Cache::AptArchives)),
            ),
            ("/var/cache/apt/archives/lock", None),
            (
                "/var/cache/apk/APKINDEX.1.tar.gz",
                Some(("/var/cache/apk", Cache::Apk)),
            ),
            (
                "/var/cache/dnf/repo/packages/x.rpm",
                Some(("/var/cache/dnf", Cache::Dnf)),
            ),
            ("/var/cache/yumx/a", None),
            (
                "/root/.cache/pip/http/a/b",
                Some(("/root/.cache/pip", Cache::Pip)),
            ),
            (
                "/home/app/.npm/_cacache/index-v5/a",
                Some(("/home/app/.npm/_cacache", Cache::Npm)),
            ),
            ("/home/app/.cache/pipx/a", None),
            ("/home/.cache/pip/a", None),
            ("/root/.npm/_logs/x.log", None),
            ("/etc/passwd", None),
        ];
        for (path, want) in cases {
            assert_eq!(cache_of(path), want, "{path}");
        }
    }

    #[test]
    fn one_finding_per_cache_with_its_size() {
        let tree = filesystem(json!([
            {"path": "/root/.cache/pip/http/a", "size": 100},
            {"path": "/var/cache/apk/APKINDEX.tar.gz", "size": 0},
            {"path": "/var/lib/apt/lists", "type": "dir", "mode": 0o755},
            {"path": "/var/lib/apt/lists/a_Packages.lz4", "size": 19_000_000},
            {"path": "/var/lib/apt/lists/b_InRelease", "size": 188_736},
            {"path": "/var/lib/apt/lists/lock", "size": 0}
        ]));
        let found = findings(ID, KIND, tree);
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.pointer.as_str(), f.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/files/0",
                    "pip cache left in `/root/.cache/pip`: 1 file, 100 bytes; use \
                     `pip install --no-cache-dir`"
                ),
                (
                    "/files/2",
                    "apt package lists left in `/var/lib/apt/lists`: 2 files, 18.3 MiB \
                     (19188736 bytes); add `&& rm -rf /var/lib/apt/lists/*` to the RUN that \
                     runs `apt-get update`"
                ),
            ],
            "the empty apk cache is not reported"
        );
    }

    #[test]
    fn clean_images_pass() {
        let tree = filesystem(json!([
            {"path": "/var/lib/apt/lists", "type": "dir", "mode": 0o755},
            {"path": "/var/lib/apt/lists/lock", "size": 0},
            {"path": "/var/lib/apt/lists/partial", "type": "dir", "mode": 0o700},
            {"path": "/var/cache/apt/archives/lock", "size": 0},
            {"path": "/usr/bin/apt", "size": 18_000}
        ]));
        assert!(findings(ID, KIND, tree).is_empty());
    }
}
