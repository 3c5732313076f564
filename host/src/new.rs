//! `palisade new`: scaffolds a ready-to-build plugin project (sample rule, fixtures, native
//! test, README) from templates compiled into the binary.

use std::path::{Path, PathBuf};

/// The languages a plugin project can be scaffolded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust, with the `palisade-sdk` crate.
    Rust,
    /// Python, built with `componentize-py` (scaffold not available yet).
    Python,
    /// JavaScript, built with `componentize-js` (scaffold not available yet).
    Js,
    /// C, built with `wit-bindgen c` and clang (scaffold not available yet).
    C,
}

impl Lang {
    /// The name `--lang` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        }
    }
}

/// Where the scaffolded project gets `palisade-sdk` from.
#[derive(Debug, Clone)]
pub enum SdkSource {
    /// This project's git repository (the default).
    Git(String),
    /// A local checkout's `plugin-sdk` directory.
    Path(PathBuf),
}

impl SdkSource {
    /// The repository this binary was built from, as the workspace's `repository` field names it.
    pub fn upstream() -> Self {
        SdkSource::Git(env!("CARGO_PKG_REPOSITORY").to_string())
    }
}

/// What to scaffold, and where.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The plugin's name: lowercase letters, digits and `-`, starting with a letter.
    pub name: String,
    /// The language of the project.
    pub lang: Lang,
    /// The directory to create; must not exist or be empty.
    pub dir: PathBuf,
    /// Where `palisade-sdk` comes from.
    pub sdk: SdkSource,
}

/// Why a project could not be scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum NewError {
    /// The name is not a valid plugin name.
    #[error(
        "invalid plugin name `{0}`: use lowercase letters, digits and `-`, starting with a letter \
         and not ending with `-` (e.g. `team-policies`)"
    )]
    BadName(String),
    /// The language has no scaffold yet.
    #[error(
        "`palisade new --lang {}` is not available yet: only `--lang rust` can be scaffolded \
         so far",
        .0.as_str()
    )]
    LangNotBuilt(Lang),
    /// The target directory exists and holds files.
    #[error("{} already exists and is not empty; choose another --dir or remove it", .0.display())]
    DirNotEmpty(PathBuf),
    /// A file or directory could not be read or written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// True for names `palisade new` accepts: usable as a crate name, a rule-id prefix and a path.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Creates the project and returns the files written, relative to `options.dir`, in order.
pub fn scaffold(options: &NewOptions) -> Result<Vec<PathBuf>, NewError> {
    if !valid_name(&options.name) {
        return Err(NewError::BadName(options.name.clone()));
    }
    if options.lang != Lang::Rust {
        return Err(NewError::LangNotBuilt(options.lang));
    }
    let dir = &options.dir;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NewError::Io { path, source }
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(NewError::DirNotEmpty(dir.clone()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dir)(e)),
    }
    let files = rust_files(&options.name, &options.sdk);
    for (relative, text) in &files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

/// The Rust project's files, rendered.
fn rust_files(name: &str, sdk: &SdkSource) -> Vec<(PathBuf, String)> {
    let crate_name = name.replace('-', "_");
    let type_name: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let sdk_dep = |features: &str| match sdk {
        SdkSource::Git(url) => format!("{{ git = {}{features} }}", toml_string(url)),
        SdkSource::Path(path) => format!(
            "{{ path = {}{features} }}",
            toml_string(&path.to_string_lossy())
        ),
    };
    let render = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{type}}", &type_name)
            .replace("{{sdk}}", &sdk_dep(""))
            .replace("{{sdk_testing}}", &sdk_dep(", features = [\"testing\"]"))
    };
    let rule_dir = Path::new("fixtures").join(name).join("team-label");
    vec![
        (
            "Cargo.toml".into(),
            render(include_str!("new/Cargo.toml.tmpl")),
        ),
        // The same toolchain (and wasm32-wasip2 target) this project builds its packs with.
        (
            "rust-toolchain.toml".into(),
            include_str!("../../rust-toolchain.toml").to_string(),
        ),
        (
            ".gitignore".into(),
            render(include_str!("new/gitignore.tmpl")),
        ),
        (
            "README.md".into(),
            render(include_str!("new/README.md.tmpl")),
        ),
        ("src/lib.rs".into(), render(include_str!("new/lib.rs.tmpl"))),
        (
            "src/team_label.rs".into(),
            render(include_str!("new/team_label.rs.tmpl")),
        ),
        (
            "tests/fixtures.rs".into(),
            render(include_str!("new/fixtures.rs.tmpl")),
        ),
        (
            rule_dir.join("fail.yaml"),
            render(include_str!("new/fail.yaml.tmpl")),
        ),
        (
            rule_dir.join("pass.yaml"),
            render(include_str!("new/pass.yaml.tmpl")),
        ),
    ]
}

/// `value` as a TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["team", "team-policies", "k8s2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "", "Team", "2team", "team_x", "team-", "a--b", "tëam", "a/b",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn paths_are_quoted_for_toml() {
        assert_eq!(toml_string(r#"C:\a "b""#), r#""C:\\a \"b\"""#);
    }
}
