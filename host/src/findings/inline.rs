//! Inline suppressions: `palisade:ignore RULE[,RULE…] -- REASON` written in a comment of the
//! scanned file itself, in that file's own comment syntax.
//!
//! ```yaml
//! # palisade:ignore k8s/run-as-root -- the vendor image needs root; ticket SEC-123
//! apiVersion: apps/v1
//! kind: Deployment
//! ...
//!           privileged: true  # palisade:ignore k8s/privileged-container -- CNI agent
//! ```
//!
//! A trailing comment covers its own line; a comment on a line of its own covers the next line
//! that is not a comment. When the covered line is the first line of a resource, the
//! suppression covers every finding of that resource for the rules it names; otherwise the
//! findings on that line. Every suppression names its rules (there is no "ignore all") and
//! gives a reason: one without is refused (an error) and suppresses nothing. One that matches
//! no finding is reported as a warning, so stale suppressions do not pile up.

use std::collections::BTreeMap;
use std::path::Path;

use crate::findings::{Finding, Suppression, SuppressionKind};
use crate::scan::{ScanError, ScanWarning};

/// The marker that starts an inline suppression, right after a comment opener.
pub const MARKER: &str = "palisade:ignore";

/// How comments are written in a scanned file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentSyntax {
    /// YAML (Kubernetes, CloudFormation): `#` at the start of a line or after a blank.
    Yaml,
    /// Terraform HCL: `#`, `//` and `/* … */`.
    Hcl,
    /// Dockerfile: `#` at the start of a line only; after an instruction it is not a comment.
    Dockerfile,
}

impl CommentSyntax {
    /// The comment syntax of a file, by its name; `None` for formats without comments (JSON).
    pub fn of(file: &str) -> Option<CommentSyntax> {
        let path = Path::new(file);
        if palisade_normalize::dockerfile::is_candidate(path) {
            return Some(CommentSyntax::Dockerfile);
        }
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if [".tf", ".hcl", ".tfvars"].iter().any(|e| name.ends_with(e)) {
            Some(CommentSyntax::Hcl)
        } else if [".yaml", ".yml"].iter().any(|e| name.ends_with(e)) {
            Some(CommentSyntax::Yaml)
        } else {
            None
        }
    }

    /// Whether a line holds nothing but a comment.
    fn is_comment_line(self, line: &str) -> bool {
        let line = line.trim_start();
        match self {
            CommentSyntax::Yaml | CommentSyntax::Dockerfile => line.starts_with('#'),
            // `*` continues a `/* … */` block written in the usual style.
            CommentSyntax::Hcl => ["#", "//", "/*", "*"].iter().any(|o| line.starts_with(o)),
        }
    }

    /// The comment that the marker at the end of `before` would open, or `None` when the marker
    /// does not start a comment (it is inside a string, or mid-sentence in a comment).
    fn opener(self, before: &str) -> Option<Opener> {
        let trimmed = before.trim_end();
        let (block, code) = match self {
            CommentSyntax::Yaml => {
                let code = trimmed.strip_suffix('#')?;
                // `a#b` is a plain scalar in YAML; only `#` after a blank starts a comment.
                if !(code.is_empty() || code.ends_with(char::is_whitespace)) {
                    return None;
                }
                (false, code)
            }
            CommentSyntax::Dockerfile => {
                let code = trimmed.strip_suffix('#')?;
                if !code.trim().is_empty() {
                    return None;
                }
                (false, code)
            }
            CommentSyntax::Hcl => {
                if let Some(code) = trimmed.strip_suffix("/*") {
                    (true, code)
                } else {
                    let code = trimmed
                        .strip_suffix("//")
                        .or_else(|| trimmed.strip_suffix('#'))?;
                    (false, code)
                }
            }
        };
        Some(Opener {
            block,
            after_code: !code.trim().is_empty(),
        })
    }
}

/// The comment a marker is in.
struct Opener {
    /// A `/* … */` comment, which may end before the end of the line.
    block: bool,
    /// Code comes before the comment on its line.
    after_code: bool,
}

/// One `palisade:ignore` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineSuppression {
    /// The 1-based line the comment is written on.
    pub line: u32,
    /// The line it covers: its own for a trailing comment, else the next line that is not a
    /// comment (`None` when the file ends first).
    pub target: Option<u32>,
    /// The rule ids it names.
    pub rules: Vec<String>,
    /// Why (never empty).
    pub reason: String,
}

/// A `palisade:ignore` comment that cannot be used: its 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub line: u32,
    pub message: String,
}

/// Every `palisade:ignore` comment of one file's text, and the malformed ones refused.
pub fn parse(text: &str, syntax: CommentSyntax) -> (Vec<InlineSuppression>, Vec<Refused>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut suppressions = Vec::new();
    let mut refused = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(comment) = comment_in(line, syntax) else {
            continue;
        };
        let number = line_number(index);
        match comment {
            Err(message) => refused.push(Refused {
                line: number,
                message,
            }),
            Ok((rules, reason, trailing)) => {
                let target = if trailing {
                    Some(number)
                } else {
                    lines
                        .iter()
                        .enumerate()
                        .skip(index + 1)
                        .find(|(_, l)| !syntax.is_comment_line(l))
                        .map(|(i, _)| line_number(i))
                };
                suppressions.push(InlineSuppression {
                    line: number,
                    target,
                    rules,
                    reason,
                });
            }
        }
    }
    (suppressions, refused)
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// A parsed comment: the rules, the reason, and whether it trails code on its line.
type Comment = (Vec<String>, String, bool);

/// The suppression in one line, if the line has a marker that opens a comment, or why it is
/// refused.
fn comment_in(line: &str, syntax: CommentSyntax) -> Option<Result<Comment, String>> {
    let (at, opener) = line
        .match_indices(MARKER)
        .find_map(|(at, _)| syntax.opener(&line[..at]).map(|o| (at, o)))?;
    let mut rest = &line[at + MARKER.len()..];
    let mut trailing = opener.after_code;
    if opener.block
        && let Some((inside, after)) = rest.split_once("*/")
    {
        trailing |= !after.trim().is_empty();
        rest = inside;
    }
    if rest.starts_with(|c: char| !c.is_whitespace()) {
        let word = rest.split_whitespace().next().unwrap_or_default();
        return Some(Err(format!(
            "`{MARKER}{word}` is not a palisade directive: write `{MARKER} RULE[,RULE…] -- \
             REASON` (each rule is named; there is no ignore-all)"
        )));
    }
    let body = rest.trim();
    let split = body
        .match_indices("--")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || body[..i].ends_with(char::is_whitespace));
    let (rules_text, reason) = match split {
        Some(i) => (body[..i].trim(), body[i + 2..].trim()),
        None => (body, ""),
    };
    if rules_text.is_empty() {
        return Some(Err(format!(
            "`{MARKER}` names no rule: write `{MARKER} RULE[,RULE…] -- REASON`"
        )));
    }
    let mut rules = Vec::new();
    for rule in rules_text.split(',').map(str::trim) {
        if rule.is_empty() {
            return Some(Err(format!(
                "`{MARKER} {rules_text}` has an empty rule in its list"
            )));
        }
        if rule.contains(char::is_whitespace) {
            return Some(Err(format!(
                "`{MARKER} {rules_text}`: separate rules with commas, and the reason with ` -- `"
            )));
        }
        rules.push(rule.to_string());
    }
    if reason.is_empty() {
        return Some(Err(format!(
            "`{MARKER} {rules_text}` has no reason, so it is refused and suppresses nothing: \
             add ` -- ` and why the finding is acceptable"
        )));
    }
    Some(Ok((rules, reason.to_string(), trailing)))
}

/// Marks the findings covered by `palisade:ignore` comments as suppressed. Only the files that
/// have findings on a line are read (by their report path, through `read`), once each.
/// Returns the refused comments as errors, and as warnings the comments that match nothing and
/// the files that could not be read again.
pub fn apply(
    findings: &mut [Finding],
    read: impl Fn(&str) -> std::io::Result<String>,
    known_rule: impl Fn(&str) -> bool,
) -> (Vec<ScanError>, Vec<ScanWarning>) {
    let mut by_file: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, finding) in findings.iter().enumerate() {
        if finding.line > 0 && finding.is_active() {
            by_file.entry(finding.file.clone()).or_default().push(i);
        }
    }
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (file, indices) in by_file {
        let Some(syntax) = CommentSyntax::of(&file) else {
            continue;
        };
        let text = match read(&file) {
            Ok(text) => text,
            Err(e) => {
                warnings.push(ScanWarning {
                    file: Some(file.clone()),
                    line: None,
                    message: format!(
                        "cannot read it again to look for `{MARKER}` comments, so none apply: {e}"
                    ),
                });
                continue;
            }
        };
        if !text.contains(MARKER) {
            continue;
        }
        let (suppressions, refused) = parse(&text, syntax);
        errors.extend(refused.into_iter().map(|r| ScanError {
            file: Some(file.clone()),
            line: Some(r.line),
            plugin: None,
            message: r.message,
        }));
        for suppression in &suppressions {
            for rule in &suppression.rules {
                let mut used = false;
                for &i in &indices {
                    let finding = &mut findings[i];
                    let covered = finding.rule == *rule
                        && suppression
                            .target
                            .is_some_and(|t| finding.line == t || finding.resource_line == t);
                    if !covered {
                        continue;
                    }
                    used = true;
                    // An earlier comment covering the same finding keeps it.
                    if finding.suppression.is_none() {
                        finding.suppression = Some(Suppression {
                            kind: SuppressionKind::Inline,
                            reason: suppression.reason.clone(),
                            owner: None,
                            expires: None,
                            source: format!("{file}:{}", suppression.line),
                        });
                    }
                }
                if !used {
                    warnings.push(ScanWarning {
                        file: Some(file.clone()),
                        line: Some(suppression.line),
                        message: unused_message(rule, suppression.target, &known_rule),
                    });
                }
            }
        }
    }
    (errors, warnings)
}

fn unused_message(rule: &str, target: Option<u32>, known_rule: impl Fn(&str) -> bool) -> String {
    if !known_rule(rule) {
        return format!(
            "unused suppression: `{MARKER} {rule}` names no loaded rule (see `palisade rules`)"
        );
    }
    match target {
        Some(line) => format!(
            "unused suppression: no `{rule}` finding is on line {line} or on a resource starting \
             there; remove the comment, or move it onto or just above the finding"
        ),
        None => format!(
            "unused suppression: `{MARKER} {rule}` is at the end of the file, above no line"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str, syntax: CommentSyntax) -> Result<InlineSuppression, String> {
        let (mut ok, mut refused) = parse(text, syntax);
        match (ok.len(), refused.len()) {
            (1, 0) => Ok(ok.remove(0)),
            (0, 1) => Err(refused.remove(0).message),
            other => panic!("expected one comment, got {other:?} in {text:?}"),
        }
    }

    #[test]
    fn trailing_and_own_line_comments_cover_their_lines() {
        let yaml = "a: 1\n# palisade:ignore k8s/x, k8s/y -- vendor image\n# more words\nb: 2 # palisade:ignore k8s/z -- why\n";
        let (found, refused) = parse(yaml, CommentSyntax::Yaml);
        assert!(refused.is_empty(), "{refused:?}");
        assert_eq!(
            found,
            vec![
                InlineSuppression {
                    line: 2,
                    target: Some(4),
                    rules: vec!["k8s/x".into(), "k8s/y".into()],
                    reason: "vendor image".into(),
                },
                InlineSuppression {
                    line: 4,
                    target: Some(4),
                    rules: vec!["k8s/z".into()],
                    reason: "why".into(),
                },
            ]
        );
    }

    #[test]
    fn hcl_accepts_hash_slashes_and_block_comments() {
        for (text, target) in [
            ("x = 1 # palisade:ignore aws/a -- r\n", 1),
            ("x = 1 // palisade:ignore aws/a -- r\n", 1),
            ("/* palisade:ignore aws/a -- r */\nx = 1\n", 2),
            ("/* palisade:ignore aws/a -- r */ x = 1\n", 1),
            ("// palisade:ignore aws/a -- r\n\nx = 1\n", 2),
        ] {
            let s = one(text, CommentSyntax::Hcl).expect(text);
            assert_eq!((s.target, s.reason.as_str()), (Some(target), "r"), "{text}");
        }
    }

    #[test]
    fn dockerfile_comments_are_whole_lines_only() {
        let s = one(
            "# palisade:ignore docker/x -- r\nRUN a\n",
            CommentSyntax::Dockerfile,
        )
        .expect("a comment line");
        assert_eq!(s.target, Some(2));
        // After an instruction `#` is an argument, not a comment.
        let (found, refused) = parse(
            "RUN echo # palisade:ignore docker/x -- r\n",
            CommentSyntax::Dockerfile,
        );
        assert!(found.is_empty() && refused.is_empty());
    }

    #[test]
    fn a_marker_that_does_not_open_a_comment_is_text() {
        for text in [
            "a: \"palisade:ignore k8s/x -- r\"\n",
            "# see palisade:ignore in the docs\n",
            "a: b#palisade:ignore k8s/x -- r\n",
        ] {
            let (found, refused) = parse(text, CommentSyntax::Yaml);
            assert!(found.is_empty() && refused.is_empty(), "{text}");
        }
    }

    #[test]
    fn suppressions_without_reason_or_rules_are_refused() {
        for (text, expected) in [
            ("# palisade:ignore k8s/x\n", "has no reason"),
            ("# palisade:ignore k8s/x --   \n", "has no reason"),
            ("# palisade:ignore -- r\n", "names no rule"),
            (
                "# palisade:ignore k8s/x k8s/y -- r\n",
                "separate rules with commas",
            ),
            ("# palisade:ignore k8s/x, -- r\n", "empty rule"),
            (
                "# palisade:ignore-all -- r\n",
                "`palisade:ignore-all` is not",
            ),
        ] {
            let message = one(text, CommentSyntax::Yaml).expect_err(text);
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn rule_ids_may_hold_dashes() {
        let s = one(
            "# palisade:ignore k8s/run-as-root--x -- r -- still the reason\n",
            CommentSyntax::Yaml,
        )
        .expect("parsed");
        assert_eq!(s.rules, vec!["k8s/run-as-root--x".to_string()]);
        assert_eq!(s.reason, "r -- still the reason");
    }

    #[test]
    fn syntax_follows_the_file_name() {
        assert_eq!(
            CommentSyntax::of("a/Dockerfile"),
            Some(CommentSyntax::Dockerfile)
        );
        assert_eq!(CommentSyntax::of("main.tf"), Some(CommentSyntax::Hcl));
        assert_eq!(
            CommentSyntax::of("./k8s/web.YML"),
            Some(CommentSyntax::Yaml)
        );
        assert_eq!(CommentSyntax::of("stack.json"), None);
        assert_eq!(CommentSyntax::of("main.tf.json"), None);
    }
}
