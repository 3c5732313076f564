//! Finds the files to scan under the given paths.
//!
//! Directories are walked with the `ignore` crate: `.gitignore`, `.ignore` and
//! `.palisadeignore` files are honoured, `.git` is skipped, and symbolic links are never
//! followed, so a scan cannot wander outside the tree it was pointed at. Explicit file
//! arguments are always scanned. `.terraform` directories (what `terraform init` fetched) are
//! not walked: the Terraform normalizer reads the modules in them through their callers. The order is sorted, so output does not depend on the walk.

use std::path::{Path, PathBuf};

use palisade_normalize::Diagnostic;

/// A file found for scanning.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceFile {
    /// The path as shown in reports: under the scan root, as the user gave it.
    pub display: String,
    /// Where to read it.
    pub path: PathBuf,
    /// Named on the command line rather than found by walking a directory.
    pub explicit: bool,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<SourceFile>,
    /// Paths that could not be walked.
    pub diagnostics: Vec<Diagnostic>,
    /// Files skipped on purpose (Helm templates, which are not YAML until rendered).
    pub skipped: Vec<String>,
}

/// Walks every path and collects the files beneath.
pub fn discover(paths: &[PathBuf]) -> Discovered {
    let mut found = Discovered::default();
    for root in paths {
        let display_root = root.display().to_string();
        match std::fs::metadata(root) {
            Err(e) => found.diagnostics.push(Diagnostic {
                file: display_root,
                line: None,
                message: format!("cannot scan: {e}"),
            }),
            Ok(meta) if meta.is_file() => found.files.push(SourceFile {
                display: display_root,
                path: root.clone(),
                explicit: true,
            }),
            Ok(_) => walk(root, &mut found),
        }
    }
    found.files.sort();
    found.files.dedup();
    found.skipped.sort();
    found
}

fn walk(root: &Path, found: &mut Discovered) {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .require_git(false)
        .add_custom_ignore_filename(".palisadeignore")
        // `.terraform` holds what `terraform init` fetched (providers, module copies); modules
        // in it are read through the root module that uses them.
        .filter_entry(|entry| entry.file_name() != ".git" && entry.file_name() != ".terraform")
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                found.diagnostics.push(Diagnostic {
                    file: root.display().to_string(),
                    line: None,
                    message: format!("cannot walk: {e}"),
                });
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.into_path();
        let display = path.display().to_string();
        if is_helm_template(&path) {
            found.skipped.push(display);
            continue;
        }
        found.files.push(SourceFile {
            display,
            path,
            explicit: false,
        });
    }
}

/// A file below a Helm chart's `templates/` directory is Go-templated text, not YAML.
fn is_helm_template(path: &Path) -> bool {
    path.ancestors()
        .skip(1)
        .find(|dir| dir.file_name().is_some_and(|n| n == "templates"))
        .and_then(Path::parent)
        .is_some_and(|chart| chart.join("Chart.yaml").is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_honours_ignores_and_skips_helm_templates() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        for (path, text) in [
            ("b.yaml", "a: 1"),
            ("a/c.yaml", "a: 1"),
            ("ignored/x.yaml", "a: 1"),
            (".palisadeignore", "ignored/\n"),
            (".git/config", "x"),
            (".terraform/modules/vpc/main.tf", "resource \"x\" \"y\" {}"),
            ("chart/Chart.yaml", "name: c"),
            ("chart/templates/deploy.yaml", "{{ .Values }}"),
        ] {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        let found = discover(&[root.to_path_buf()]);
        let names: Vec<String> = found
            .files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .expect("under root")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names,
            [".palisadeignore", "a/c.yaml", "b.yaml", "chart/Chart.yaml"]
        );
        assert_eq!(found.skipped.len(), 1);
        assert!(found.diagnostics.is_empty());
    }

    #[test]
    fn a_missing_path_is_a_diagnostic() {
        let found = discover(&[PathBuf::from("/nonexistent/palisade")]);
        assert!(found.files.is_empty());
        assert_eq!(found.diagnostics.len(), 1);
        assert!(found.diagnostics[0].message.contains("cannot scan"));
    }
}
