//! OS packages installed in an image, read from the package databases captured while merging
//! its layers: dpkg (Debian, Ubuntu, distroless), apk (Alpine) and rpm (SQLite databases of
//! Fedora, RHEL 9, Amazon Linux 2023, SUSE).

use std::collections::BTreeMap;
use std::io::Read;

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::layers::Captured;

const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// Distroless images have one status file per package here instead of `status`.
const DPKG_STATUS_DIR: &str = "/var/lib/dpkg/status.d/";
const APK_INSTALLED: &str = "/lib/apk/db/installed";
const RPM_SQLITE: [&str; 2] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
];

/// One installed OS package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// As the manager writes it; for rpm `[epoch:]version-release`.
    pub version: String,
    /// The source package, when the database names one.
    pub source: Option<String>,
    pub arch: Option<String>,
    /// `dpkg`, `apk` or `rpm`.
    pub manager: &'static str,
    /// The database the package was read from, e.g. `/var/lib/dpkg/status`.
    pub database: String,
    /// The layer the database comes from.
    pub layer: usize,
}

/// A package database, or one entry of it, that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseProblem {
    pub database: String,
    pub message: String,
}

/// Whether `path` (absolute, normalized) is a package database this module reads.
pub fn is_database(path: &str) -> bool {
    if path == DPKG_STATUS || path == APK_INSTALLED || RPM_SQLITE.contains(&path) {
        return true;
    }
    // status.d also holds `<package>.md5sums` files, which list files, not packages.
    path.strip_prefix(DPKG_STATUS_DIR)
        .is_some_and(|name| !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums"))
}

/// The packages of every captured database, in database path order, and what could not be read.
pub fn read_packages(
    captured: &BTreeMap<String, Captured>,
) -> (Vec<Package>, Vec<DatabaseProblem>) {
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    for (path, file) in captured {
        let mut reader = DatabaseReader {
            database: path,
            layer: file.layer,
            packages: &mut packages,
            problems: &mut problems,
        };
        if path == DPKG_STATUS {
            reader.dpkg(&file.bytes, false);
        } else if path.starts_with(DPKG_STATUS_DIR) {
            reader.dpkg(&file.bytes, true);
        } else if path == APK_INSTALLED {
            reader.apk(&file.bytes);
        } else if RPM_SQLITE.contains(&path.as_str())
            && let Err(message) = reader.rpm(&file.bytes)
        {
            reader.problem(message);
        }
    }
    (packages, problems)
}

/// Reads one database into the shared package and problem lists.
struct DatabaseReader<'a> {
    database: &'a str,
    layer: usize,
    packages: &'a mut Vec<Package>,
    problems: &'a mut Vec<DatabaseProblem>,
}

impl DatabaseReader<'_> {
    fn problem(&mut self, message: String) {
        self.problems.push(DatabaseProblem {
            database: self.database.to_string(),
            message,
        });
    }

    fn package(
        &mut self,
        manager: &'static str,
        name: &str,
        version: &str,
        source: Option<&str>,
        arch: Option<&str>,
    ) {
        self.packages.push(Package {
            name: name.to_string(),
            version: version.to_string(),
            source: source.filter(|s| !s.is_empty()).map(str::to_string),
            arch: arch.filter(|s| !s.is_empty()).map(str::to_string),
            manager,
            database: self.database.to_string(),
            layer: self.layer,
        });
    }

    /// A dpkg status file: RFC 822-style stanzas. `per_package` is a distroless `status.d`
    /// file, which is the package's control file and so has no `Status` field.
    fn dpkg(&mut self, bytes: &[u8], per_package: bool) {
        let text = String::from_utf8_lossy(bytes);
        for (line, stanza) in stanzas(&text) {
            let field = |key: &str| -> Option<&str> {
                stanza
                    .iter()
                    .find_map(|(k, v)| k.eq_ignore_ascii_case(key).then_some(*v))
            };
            // "want flag status": held ("hold ok installed") and to-be-removed
            // ("deinstall ok installed") packages are still on disk, so the status word counts.
            let installed = match field("Status") {
                Some(status) => status.split_whitespace().nth(2) == Some("installed"),
                None => per_package,
            };
            if !installed {
                continue;
            }
            let Some(name) = field("Package") else {
                self.problem(format!("line {line}: entry has no Package field"));
                continue;
            };
            let Some(version) = field("Version") else {
                self.problem(format!("line {line}: package {name} has no Version field"));
                continue;
            };
            // "Source: openssl (3.0.11-1)" names the source version when it differs.
            let source = field("Source").map(|s| s.split_once(' ').map_or(s, |(n, _)| n));
            self.package("dpkg", name, version, source, field("Architecture"));
        }
    }

    /// An apk `installed` file: stanzas of `X:value` lines.
    fn apk(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        let mut start_line = 1;
        let mut fields: [Option<&str>; 4] = [None; 4];
        let mut any = false;
        let lines = text.lines().map(Some).chain([None]);
        for (number, line) in (1..).zip(lines) {
            let line = line.map(|l| l.trim_end_matches('\r'));
            if let Some(line) = line.filter(|l| !l.is_empty()) {
                if !any {
                    start_line = number;
                    any = true;
                }
                if let Some((key, value)) = line.split_once(':') {
                    let slot = match key {
                        "P" => 0,
                        "V" => 1,
                        "A" => 2,
                        "o" => 3,
                        _ => continue,
                    };
                    fields[slot] = Some(value);
                }
                continue;
            }
            if any {
                match fields {
                    [Some(name), Some(version), arch, origin] => {
                        self.package("apk", name, version, origin, arch);
                    }
                    [Some(name), None, ..] => {
                        self.problem(format!("line {start_line}: package {name} has no V: line"));
                    }
                    [None, ..] => {
                        self.problem(format!("line {start_line}: entry has no P: line"));
                    }
                }
            }
            fields = [None; 4];
            any = false;
        }
    }

    /// An rpm SQLite database: the `Packages` table holds one RPM header per package.
    fn rpm(&mut self, bytes: &[u8]) -> Result<(), String> {
        const HEADER_LEN: usize = 100;
        if bytes.len() < HEADER_LEN || !bytes.starts_with(b"SQLite format 3\0") {
            return Err("not an SQLite database".to_string());
        }
        // rpm keeps its database in WAL mode (header bytes 18 and 19 = 2). SQLite cannot open
        // a WAL database from memory; marking it as a rollback-journal database (1) reads the
        // same pages. rpm checkpoints on close, so the -wal file is normally empty anyway.
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&bytes[..HEADER_LEN]);
        for byte in &mut head[18..20] {
            if *byte == 2 {
                *byte = 1;
            }
        }
        let sqlite = |error: rusqlite::Error| format!("SQLite: {error}");
        let mut connection = Connection::open_in_memory().map_err(sqlite)?;
        connection
            .deserialize_read_exact(
                "main",
                head.as_slice().chain(&bytes[HEADER_LEN..]),
                bytes.len(),
                true,
            )
            .map_err(sqlite)?;
        // The database is untrusted: no functions with side effects from its schema.
        connection
            .pragma_update(None, "trusted_schema", false)
            .map_err(sqlite)?;
        // A view named Packages could run arbitrary (endless) queries; rpm makes a table.
        let tables: i64 = connection
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'Packages'",
                [],
                |row| row.get(0),
            )
            .map_err(sqlite)?;
        if tables != 1 {
            return Err("no Packages table".to_string());
        }
        let mut statement = connection
            .prepare("SELECT hnum, blob FROM Packages")
            .map_err(sqlite)?;
        let mut rows = statement.query([]).map_err(sqlite)?;
        while let Some(row) = rows.next().map_err(sqlite)? {
            let hnum: i64 = row.get(0).map_err(sqlite)?;
            let header = match row.get_ref(1).map_err(sqlite)? {
                ValueRef::Blob(blob) => RpmHeader::parse(blob),
                _ => Err("blob column is not a blob".to_string()),
            };
            match header.and_then(|header| header.package()) {
                Ok(Some(package)) => self.package(
                    "rpm",
                    &package.name,
                    &package.version,
                    package.source.as_deref(),
                    package.arch.as_deref(),
                ),
                Ok(None) => {}
                Err(message) => self.problem(format!("package {hnum}: {message}")),
            }
        }
        Ok(())
    }
}

/// The stanzas of a dpkg-style control file: the 1-based line each starts on, and its
/// single-line fields (continuation lines are skipped: no field we read spans lines).
fn stanzas(text: &str) -> Vec<(usize, Vec<(&str, &str)>)> {
    let mut out = Vec::new();
    let mut current: Vec<(&str, &str)> = Vec::new();
    let mut start = 1;
    for (number, line) in (1..).zip(text.lines()) {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push((start, std::mem::take(&mut current)));
            }
            continue;
        }
        if current.is_empty() {
            start = number;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim(), value.trim()));
        }
    }
    if !current.is_empty() {
        out.push((start, current));
    }
    out
}

/// What one rpm header says about its package.
struct RpmPackage {
    name: String,
    version: String,
    source: Option<String>,
    arch: Option<String>,
}

/// An rpm header as stored in the database: index count and data length (big-endian u32), the
/// 16-byte index entries (tag, type, offset, count), then the data.
struct RpmHeader<'a> {
    index: &'a [u8],
    data: &'a [u8],
}

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

impl<'a> RpmHeader<'a> {
    fn parse(blob: &'a [u8]) -> Result<RpmHeader<'a>, String> {
        let word = |at: usize| -> Option<u32> {
            let bytes = blob.get(at..at + 4)?;
            Some(u32::from_be_bytes(bytes.try_into().ok()?))
        };
        let (Some(count), Some(length)) = (word(0), word(4)) else {
            return Err(format!("header of {} bytes is too short", blob.len()));
        };
        // rpm's own sanity limits (hdrchkTags, hdrchkData): at most 0xffff tags, under 16 MiB.
        if count == 0 || count > 0xffff {
            return Err(format!("header claims {count} tags"));
        }
        if length >= 1 << 24 {
            return Err(format!("header claims {length} bytes of data"));
        }
        let index_end = 8 + count as usize * 16;
        let data_end = index_end + length as usize;
        if blob.len() < data_end {
            return Err(format!(
                "header needs {data_end} bytes but has {}",
                blob.len()
            ));
        }
        Ok(RpmHeader {
            index: &blob[8..index_end],
            data: &blob[index_end..data_end],
        })
    }

    /// The (type, offset, count) of `tag`'s entry.
    fn entry(&self, tag: u32) -> Option<(u32, usize, u32)> {
        self.index.chunks_exact(16).find_map(|entry| {
            let word =
                |at: usize| u32::from_be_bytes(entry[at..at + 4].try_into().expect("4-byte slice"));
            (word(0) == tag).then(|| (word(4), word(8) as usize, word(12)))
        })
    }

    /// A string tag's value (the first one of an array), or `Ok(None)` when absent.
    fn string(&self, tag: u32) -> Result<Option<String>, String> {
        let Some((kind, offset, _)) = self.entry(tag) else {
            return Ok(None);
        };
        if !matches!(kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(format!("tag {tag} has type {kind}, not a string"));
        }
        let rest = self
            .data
            .get(offset..)
            .ok_or_else(|| format!("tag {tag} points past the header data"))?;
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| format!("tag {tag}'s string is not terminated"))?;
        Ok(Some(String::from_utf8_lossy(&rest[..end]).into_owned()))
    }

    /// An INT32 tag's first value, or `Ok(None)` when absent.
    fn int32(&self, tag: u32) -> Result<Option<u32>, String> {
        let Some((kind, offset, count)) = self.entry(tag) else {
            return Ok(None);
        };
        if kind != TYPE_INT32 || count == 0 {
            return Err(format!("tag {tag} has type {kind}, not an integer"));
        }
        let bytes = offset
            .checked_add(4)
            .and_then(|end| self.data.get(offset..end))
            .ok_or_else(|| format!("tag {tag} points past the header data"))?;
        Ok(Some(u32::from_be_bytes(
            bytes.try_into().expect("4-byte slice"),
        )))
    }

    /// The package, or `None` for the `gpg-pubkey` entries rpm keeps for imported signing keys.
    fn package(&self) -> Result<Option<RpmPackage>, String> {
        let name = self.string(TAG_NAME)?.ok_or("header has no name")?;
        if name == "gpg-pubkey" {
            return Ok(None);
        }
        let version = self
            .string(TAG_VERSION)?
            .ok_or_else(|| format!("{name} has no version"))?;
        let release = self
            .string(TAG_RELEASE)?
            .ok_or_else(|| format!("{name} has no release"))?;
        let version = match self.int32(TAG_EPOCH)? {
            Some(epoch) => format!("{epoch}:{version}-{release}"),
            None => format!("{version}-{release}"),
        };
        // "openssl-3.0.7-24.el9.src.rpm" → "openssl": name, then version and release.
        let source = self.string(TAG_SOURCERPM)?.and_then(|rpm| {
            let stem = rpm
                .strip_suffix(".src.rpm")
                .or_else(|| rpm.strip_suffix(".nosrc.rpm"))?;
            let mut parts = stem.rsplitn(3, '-');
            let (_release, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
            Some(name.to_string())
        });
        Ok(Some(RpmPackage {
            name,
            version,
            source,
            arch: self.string(TAG_ARCH)?,
        }))
    }
}
