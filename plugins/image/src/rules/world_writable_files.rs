//! `image/world-writable-files`: no file or unprotected directory any user can write.

use palisade_sdk::{Report, Resource, Rule, Severity, image};

pub const RULE: Rule = Rule {
    id: "image/world-writable-files",
    title: "World-writable file or directory",
    severity: Severity::Medium,
    kinds: image::FILESYSTEM_KINDS,
    description: "A world-writable file can be changed by any user in the container: a \
compromised low-privilege process rewrites a script or binary that root (or the application) \
runs later, or a configuration file it trusts. A world-writable directory without the sticky \
bit lets any user delete or replace any other user's files in it. This rule judges \
`image/filesystem`, the image's merged file tree, and fires for each regular file with the \
`o+w` bit, and each directory with `o+w` but not the sticky bit, pointing at that entry (shown \
with the layer that added it). Sticky world-writable directories (`/tmp`, `/var/tmp`, mode \
`1777`) are the intended exception and are not reported; symbolic links always carry mode \
`0777`, which means nothing, and are never judged; hard links are judged through the file they \
share.\n
Example: `COPY . /app` followed by `RUN chmod -R 777 /app`.",
    remediation: "Give files to the user that needs them instead of to everyone: \
`COPY --chown=app:app --chmod=644 . /app`, or `RUN chmod -R o-w /app` in the layer that creates \
them. A directory every user must write to gets the sticky bit: `chmod 1777 /shared`.",
    help_uri: Some("https://docs.docker.com/reference/dockerfile/#copy---chmod"),
    tags: &["cwe/732", "least-privilege"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(filesystem) = image::filesystem(resource) else {
        return;
    };
    for file in filesystem.files() {
        if !file.world_writable {
            continue;
        }
        let message = if file.is_regular() {
            format!(
                "`{}` is world-writable (mode {:04o}): any user in the container can change \
                 it; remove the bit with `chmod o-w`",
                file.path, file.mode
            )
        } else if file.is_dir() && !file.sticky {
            format!(
                "directory `{}` is world-writable without the sticky bit (mode {:04o}): any \
                 user can delete or replace others' files in it; use `chmod o-w`, or \
                 `chmod +t` if everyone must write there",
                file.path, file.mode
            )
        } else {
            continue;
        };
        report.finding(file.pointer(), message);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{filesystem, findings, pointers};
    use palisade_sdk::serde_json::json;

    const ID: &str = "image/world-writable-files";
    const KIND: &str = "image/filesystem";

    #[test]
    fn writable_files_and_unprotected_dirs_are_reported() {
        let tree = filesystem(json!([
            {"path": "/app", "type": "dir", "mode": 0o777},
            {"path": "/app/run.sh", "mode": 0o777},
            {"path": "/app/static", "type": "dir", "mode": 0o755},
            {"path": "/etc/app.conf", "mode": 0o666, "world_writable": true}
        ]));
        assert_eq!(
            pointers(ID, KIND, tree.clone()),
            ["/files/0", "/files/1", "/files/3"]
        );
        let found = findings(ID, KIND, tree);
        assert!(
            found[0]
                .message
                .starts_with("directory `/app` is world-writable without")
        );
        assert!(
            found[1]
                .message
                .starts_with("`/app/run.sh` is world-writable (mode 0777)")
        );
    }

    #[test]
    fn sticky_dirs_symlinks_and_hardlinks_pass() {
        let tree = filesystem(json!([
            {"path": "/tmp", "type": "dir", "mode": 0o1777},
            {"path": "/var/tmp", "type": "dir", "mode": 0o1777, "world_writable": true,
             "sticky": true},
            {"path": "/usr/bin/vi", "type": "symlink", "mode": 0o777, "link": "vim"},
            {"path": "/usr/bin/x", "type": "hardlink", "mode": 0o777, "link": "/usr/bin/y"},
            {"path": "/dev/null", "type": "char", "mode": 0o666},
            {"path": "/etc/passwd", "mode": 0o644}
        ]));
        assert!(pointers(ID, KIND, tree).is_empty());
    }
}
