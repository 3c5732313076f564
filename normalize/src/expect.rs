//! Expected findings written beside fixture files: `expect:` markers in comments, or a sidecar
//! `FILE.expect` for formats without comments. One reading, shared by the plugin SDK's native
//! test harness and `palisade test`, so one fixture tree serves both.

use std::collections::BTreeSet;

/// Suffix of a sidecar expectations file: `fail.plan.json.expect` for `fail.plan.json`.
pub const SIDECAR_SUFFIX: &str = ".expect";

/// A finding a fixture expects: a rule firing at a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expected {
    pub line: u32,
    pub rule: String,
}

/// The findings the `expect: RULE-ID[, RULE-ID…]` markers of `text` name.
///
/// A marker at the end of a line (`privileged: true # expect: k8s/privileged-container`) names
/// that line. A marker alone on a comment line (`# expect: docker/run-as-root`) names the next
/// line, for formats whose comments cannot follow code on the same line (Dockerfiles).
pub fn markers(text: &str) -> BTreeSet<Expected> {
    let mut out = BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        let comment_only = line.trim_start().starts_with('#');
        let at = index as u32 + if comment_only { 2 } else { 1 };
        for rest in line.split("expect:").skip(1) {
            for rule in rest
                .split([',', ' '])
                .map(str::trim)
                .filter(|r| !r.is_empty())
            {
                out.insert(Expected {
                    line: at,
                    rule: rule.to_string(),
                });
            }
        }
    }
    out
}

/// The findings a sidecar names: one `<line>: <rule-id>[, <rule-id>…]` per line; blank lines
/// and `#` comments are skipped. A malformed entry is an error naming its line.
pub fn sidecar(text: &str) -> Result<BTreeSet<Expected>, String> {
    let mut out = BTreeSet::new();
    for (index, entry) in text.lines().map(str::trim).enumerate() {
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let at = index + 1;
        let (line, rules) = entry
            .split_once(':')
            .ok_or_else(|| format!("line {at}: `{entry}` is not `<line>: <rule-id>`"))?;
        let line: u32 = line
            .trim()
            .parse()
            .map_err(|_| format!("line {at}: `{}` is not a line number", line.trim()))?;
        for rule in rules
            .split([',', ' '])
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            out.insert(Expected {
                line,
                rule: rule.to_string(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(set: &BTreeSet<Expected>) -> Vec<(u32, &str)> {
        set.iter().map(|e| (e.line, e.rule.as_str())).collect()
    }

    #[test]
    fn markers_name_their_line_or_the_next() {
        let text =
            "a: 1 # expect: k8s/a\nb: 2 # expect: k8s/ab, k8s/a\n# expect: docker/x\nUSER root\n";
        assert_eq!(
            pairs(&markers(text)),
            [(1, "k8s/a"), (2, "k8s/a"), (2, "k8s/ab"), (4, "docker/x")]
        );
    }

    #[test]
    fn sidecars_list_lines_and_rules_and_name_bad_entries() {
        let text = "# comment\n\n12: aws/a, aws/b\n3: aws/c\n";
        assert_eq!(
            pairs(&sidecar(text).expect("valid")),
            [(3, "aws/c"), (12, "aws/a"), (12, "aws/b")]
        );
        assert_eq!(
            sidecar("12 aws/a").expect_err("no colon"),
            "line 1: `12 aws/a` is not `<line>: <rule-id>`"
        );
        assert_eq!(
            sidecar("x: aws/a").expect_err("not a number"),
            "line 1: `x` is not a line number"
        );
    }
}
