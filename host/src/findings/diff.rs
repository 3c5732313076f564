//! Only what a change touched: `--diff-base REF` keeps the findings on files and lines that
//! differ between REF's tree and the working tree of the git repository holding the scan root.
//!
//! The repository is read with gitoxide (no `git` binary). What counts as changed:
//! - a line added or modified in the working tree (uncommitted edits count, staged or not);
//! - every line of a resource lines were removed from: a finding a removal brings about (a
//!   dropped `readOnlyRootFilesystem: true`) points at what remains, maybe far from the gap;
//! - every line of a file REF does not have: new files, untracked files, files outside the
//!   repository, and renamed files whose content changed;
//! - no line of a file renamed without changes (its content is a blob of REF's tree).
//!
//! Line endings are ignored, so a `core.autocrlf` checkout compares as `git diff` shows it.
//! Findings without a line (container images) are always reported. Every resource is still
//! evaluated, so rules that join resources see them all; only the findings are filtered.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use similar::{Algorithm, DiffOp};

use crate::findings::Finding;

/// Why `--diff-base` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DiffBaseError {
    /// The scan root is not inside a git repository.
    #[error("--diff-base {rev}: {} is not in a git repository: {reason}", path.display())]
    NotARepository {
        rev: String,
        path: PathBuf,
        reason: String,
    },
    /// The repository has no working tree to compare with.
    #[error("--diff-base {rev}: the git repository at {} is bare (no working tree to compare)", path.display())]
    Bare { rev: String, path: PathBuf },
    /// REF names no commit, branch or tag of the repository.
    #[error("--diff-base {rev}: not a commit, branch or tag of the git repository at {}: {reason}", path.display())]
    UnknownRevision {
        rev: String,
        path: PathBuf,
        reason: String,
    },
    /// REF resolves, but not to a commit (e.g. to a tree or a blob).
    #[error("--diff-base {rev}: {reason}")]
    NoCommit { rev: String, reason: String },
}

/// A git revision's tree, to compare the scanned files with.
#[derive(Clone)]
pub struct DiffBase {
    rev: String,
    repo: gix::ThreadSafeRepository,
    tree: gix::ObjectId,
    /// The working tree, canonical, so scanned paths map to repository paths.
    workdir: PathBuf,
    /// Where relative finding paths start from.
    cwd: PathBuf,
}

impl std::fmt::Debug for DiffBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiffBase")
            .field("rev", &self.rev)
            .field("tree", &self.tree)
            .field("workdir", &self.workdir)
            .finish_non_exhaustive()
    }
}

/// Which lines of one file changed since the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// Not in the base (new, untracked, outside the repository, renamed and edited): all of it.
    Whole,
    /// Lines of the working file changed since the base (none for an unchanged or purely
    /// moved file).
    Lines(ChangedLines),
}

/// The changes to one file, in the working file's 1-based line numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedLines {
    /// Lines added or modified.
    pub changed: BTreeSet<u32>,
    /// Where lines were removed: `n` means between lines `n` and `n + 1` (0: before line 1).
    pub removals: BTreeSet<u32>,
}

impl FileChange {
    /// Whether a finding on `line` of a resource spanning `resource` is in the change: its
    /// line changed, or lines were removed inside the resource.
    pub fn covers(&self, line: u32, resource: RangeInclusive<u32>) -> bool {
        match self {
            FileChange::Whole => true,
            FileChange::Lines(lines) => {
                lines.changed.contains(&line)
                    || lines
                        .removals
                        .range(*resource.start()..=*resource.end())
                        .next()
                        .is_some()
            }
        }
    }
}

/// What [`DiffBase::retain_changed`] kept out, and the problems it met.
#[derive(Debug, Default)]
pub struct Restriction {
    /// Findings removed because they are on unchanged lines.
    pub outside: usize,
    /// Files whose change could not be worked out (their findings are kept): (file, reason).
    pub problems: Vec<(String, String)>,
}

impl DiffBase {
    /// Opens the repository holding `start` (a file or directory) and resolves `rev` in it to a
    /// tree. Relative finding paths are taken from the current directory.
    pub fn open(rev: &str, start: &Path) -> Result<DiffBase, DiffBaseError> {
        let cwd = std::env::current_dir().map_err(|e| DiffBaseError::NotARepository {
            rev: rev.to_string(),
            path: start.to_path_buf(),
            reason: format!("cannot read the current directory: {e}"),
        })?;
        // The nearest directory that exists: a missing scan path is the scan's error to report.
        let absolute = cwd.join(start);
        let dir = absolute
            .ancestors()
            .find(|dir| dir.is_dir())
            .unwrap_or(&cwd)
            .to_path_buf();
        let repo = gix::discover(&dir).map_err(|e| DiffBaseError::NotARepository {
            rev: rev.to_string(),
            path: start.to_path_buf(),
            reason: e.to_string(),
        })?;
        let Some(workdir) = repo.workdir() else {
            return Err(DiffBaseError::Bare {
                rev: rev.to_string(),
                path: repo.path().to_path_buf(),
            });
        };
        let workdir = std::fs::canonicalize(workdir).unwrap_or_else(|_| workdir.to_path_buf());
        let id = repo
            .rev_parse_single(rev)
            .map_err(|e| DiffBaseError::UnknownRevision {
                rev: rev.to_string(),
                path: workdir.clone(),
                reason: e.to_string(),
            })?;
        // A commit, not any tree: `HEAD:deploy` would be compared as if it were the root.
        let no_commit = |reason: String| DiffBaseError::NoCommit {
            rev: rev.to_string(),
            reason: format!("it names no commit: {reason}"),
        };
        let tree = id
            .object()
            .map_err(|e| no_commit(e.to_string()))?
            .peel_to_commit()
            .map_err(|e| no_commit(e.to_string()))?
            .tree_id()
            .map_err(|e| no_commit(e.to_string()))?
            .detach();
        Ok(DiffBase {
            rev: rev.to_string(),
            repo: repo.into_sync(),
            tree,
            workdir,
            cwd,
        })
    }

    /// The revision as given.
    pub fn rev(&self) -> &str {
        &self.rev
    }

    /// Removes the findings on lines that did not change since the base; findings without a
    /// line (images) stay. Files whose change cannot be worked out keep all their findings.
    /// `resource` gives the lines the resource of a finding spans.
    pub fn retain_changed(
        &self,
        findings: &mut Vec<Finding>,
        resource: impl Fn(&Finding) -> RangeInclusive<u32>,
    ) -> Restriction {
        let mut restriction = Restriction::default();
        let mut changes: HashMap<String, FileChange> = HashMap::new();
        let repo = self.repo.to_thread_local();
        let mut base_blobs = None;
        findings.retain(|finding| {
            if finding.line == 0 {
                return true;
            }
            let change = changes.entry(finding.file.clone()).or_insert_with(|| {
                self.file_change(&repo, &finding.file, &mut base_blobs)
                    .unwrap_or_else(|reason| {
                        restriction.problems.push((finding.file.clone(), reason));
                        FileChange::Whole
                    })
            });
            let keep = change.covers(finding.line, resource(finding));
            if !keep {
                restriction.outside += 1;
            }
            keep
        });
        restriction
    }

    /// How a scanned file (as a finding names it) changed since the base.
    pub fn file_change(
        &self,
        repo: &gix::Repository,
        file: &str,
        base_blobs: &mut Option<HashSet<gix::ObjectId>>,
    ) -> Result<FileChange, String> {
        let on_disk = self.cwd.join(file);
        let current = std::fs::read(&on_disk).map_err(|e| format!("cannot read: {e}"))?;
        let Some(path) = self.repository_path(&on_disk) else {
            return Ok(FileChange::Whole);
        };
        let tree = self.tree(repo)?;
        let entry = tree
            .lookup_entry_by_path(&path)
            .map_err(|e| format!("cannot read {path} at {}: {e}", self.rev))?;
        match entry {
            Some(entry) if entry.mode().is_blob() => {
                let blob = entry
                    .object()
                    .map_err(|e| format!("cannot read {path} at {}: {e}", self.rev))?;
                Ok(FileChange::Lines(changed_lines(&blob.data, &current)))
            }
            // A directory, symlink or submodule then, a file now.
            Some(_) => Ok(FileChange::Whole),
            None => {
                let id =
                    gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, &current)
                        .map_err(|e| format!("cannot hash: {e}"))?;
                let blobs = match base_blobs {
                    Some(blobs) => blobs,
                    None => base_blobs.insert(self.blobs(repo)?),
                };
                Ok(if blobs.contains(&id) {
                    FileChange::Lines(ChangedLines::default())
                } else {
                    FileChange::Whole
                })
            }
        }
    }

    fn tree<'r>(&self, repo: &'r gix::Repository) -> Result<gix::Tree<'r>, String> {
        repo.find_tree(self.tree)
            .map_err(|e| format!("cannot read the tree of {}: {e}", self.rev))
    }

    /// Every blob of the base tree: a file whose content is one of them was moved, not changed.
    fn blobs(&self, repo: &gix::Repository) -> Result<HashSet<gix::ObjectId>, String> {
        let mut recorder = gix::traverse::tree::Recorder::default();
        self.tree(repo)?
            .traverse()
            .breadthfirst(&mut recorder)
            .map_err(|e| format!("cannot read the tree of {}: {e}", self.rev))?;
        Ok(recorder
            .records
            .into_iter()
            .filter(|r| r.mode.is_blob())
            .map(|r| r.oid)
            .collect())
    }

    /// The path of a file inside the repository (`/`-separated), or `None` outside it.
    fn repository_path(&self, file: &Path) -> Option<String> {
        let file = std::fs::canonicalize(file).ok()?;
        let relative = file.strip_prefix(&self.workdir).ok()?;
        let parts: Vec<&str> = relative
            .components()
            .map(|c| c.as_os_str().to_str())
            .collect::<Option<_>>()?;
        Some(parts.join("/"))
    }
}

/// What changed from `old` to `new`, in `new`'s 1-based lines: inserted or replaced lines, and
/// where lines were removed (a replacement by fewer lines removes some too).
pub fn changed_lines(old: &[u8], new: &[u8]) -> ChangedLines {
    let old_lines = lines(old);
    let new_lines = lines(new);
    let number = |index: usize| u32::try_from(index).unwrap_or(u32::MAX);
    let mut lines = ChangedLines::default();
    for op in similar::capture_diff_slices(Algorithm::Myers, &old_lines, &new_lines) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete { new_index, .. } => {
                lines.removals.insert(number(new_index));
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => lines
                .changed
                .extend((new_index..new_index + new_len).map(|i| number(i + 1))),
            DiffOp::Replace {
                old_len,
                new_index,
                new_len,
                ..
            } => {
                lines
                    .changed
                    .extend((new_index..new_index + new_len).map(|i| number(i + 1)));
                if old_len > new_len {
                    lines.removals.insert(number(new_index + new_len));
                }
            }
        }
    }
    lines
}

/// The lines of a file without their terminators (`\n` or `\r\n`).
fn lines(text: &[u8]) -> Vec<&[u8]> {
    if text.is_empty() {
        return Vec::new();
    }
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    text.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(old: &str, new: &str) -> (Vec<u32>, Vec<u32>) {
        let lines = changed_lines(old.as_bytes(), new.as_bytes());
        (
            lines.changed.into_iter().collect(),
            lines.removals.into_iter().collect(),
        )
    }

    #[test]
    fn modified_and_inserted_lines_are_changed() {
        assert_eq!(changed("a\nb\nc\n", "a\nB\nc\n"), (vec![2], vec![]));
        assert_eq!(
            changed("a\nb\nc\n", "a\nb\nx\ny\nc\n"),
            (vec![3, 4], vec![])
        );
        assert_eq!(changed("a\nb\n", "a\nb\n"), (vec![], vec![]));
        assert_eq!(changed("", "a\nb"), (vec![1, 2], vec![]));
    }

    #[test]
    fn removals_are_placed_between_lines() {
        assert_eq!(changed("a\nb\nc\nd\n", "a\nd\n"), (vec![], vec![1]));
        assert_eq!(changed("a\nb\nc\n", "a\nb\n"), (vec![], vec![2]));
        assert_eq!(changed("a\nb\nc\n", "b\nc\n"), (vec![], vec![0]));
        // Two lines replaced by one: the one is changed, and one was removed after it.
        assert_eq!(changed("a\nb\nc\nd\n", "a\nX\nd\n"), (vec![2], vec![2]));
    }

    #[test]
    fn a_removal_covers_the_resource_it_is_in() {
        let change = FileChange::Lines(changed_lines(b"a\nb\nc\nd\ne\n", b"a\nb\nd\ne\n"));
        assert!(
            change.covers(4, 2..=4),
            "removed between 2 and 3, inside 2..=4"
        );
        assert!(!change.covers(4, 3..=4));
        assert!(!change.covers(1, 1..=1));
        assert!(FileChange::Whole.covers(7, 1..=9));
    }

    #[test]
    fn line_endings_do_not_count_as_changes() {
        assert_eq!(changed("a\nb\n", "a\r\nb\r\n"), (vec![], vec![]));
        assert_eq!(changed("a\nb\n", "a\nb"), (vec![], vec![]));
    }
}
