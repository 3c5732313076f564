//! `image/setuid-binaries`: setuid and setgid programs beyond the base image's usual ones.

use palisade_sdk::{Report, Resource, Rule, Severity, image};

use crate::settings::Settings;

pub const RULE: Rule = Rule {
    id: "image/setuid-binaries",
    title: "Unexpected setuid or setgid program",
    severity: Severity::Medium,
    kinds: image::FILESYSTEM_KINDS,
    description: "A setuid (or setgid) program runs with its owner's (or group's) rights \
whoever starts it: every one in the image is a way for a process that was meant to be \
unprivileged to become root, through a bug in the program or a trick it does not expect \
(`sudo`, `pkexec` and `newgrp` have all had such CVEs). Containers rarely need any, and \
Kubernetes' `allowPrivilegeEscalation: false` only helps where it is set. This rule judges \
`image/filesystem`, the image's merged file tree, and fires for each regular file with the \
setuid or setgid bit that is not on the allow-list, pointing at that file (shown with the \
layer that added it).\n
The default allow-list holds what Debian, Ubuntu, Alpine and Red Hat UBI base images ship: \
`passwd`, `su`, `mount`, `umount`, `chsh`, `chfn`, `gpasswd`, `newgrp`, `chage`, `expiry`, \
`unix_chkpwd`, `pam_timestamp_check`, `ssh-keysign`, `wall`, `write` and Alpine's `bbsuid`, at \
their distribution paths. The `setuid-allow` setting (a list of absolute paths) replaces it; \
`setuid-allow-extra` adds to it.\n
Example: `RUN apt-get install -y sudo` adds `/usr/bin/sudo`, setuid root.",
    remediation: "Remove the program if the container does not need it (`sudo` almost never \
belongs in an image), or drop the bit in the layer that adds it: \
`RUN chmod u-s,g-s /usr/bin/sudo`. To strip every bit at once, in the final stage: \
`RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +`. If the program is meant to be \
there, add its path to `setuid-allow-extra` in the pack's settings.",
    help_uri: Some(
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/#set-the-security-context-for-a-container",
    ),
    tags: &["privilege-escalation", "cwe/250", "least-privilege"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(filesystem) = image::filesystem(resource) else {
        return;
    };
    // The settings borrow the report, so findings are reported once the tree is read.
    let settings = Settings::of(report.config());
    let mut found = Vec::new();
    for file in filesystem.files() {
        if !file.is_regular() || !(file.setuid || file.setgid) || settings.setuid_allowed(file.path)
        {
            continue;
        }
        let bits = match (file.setuid, file.setgid) {
            (true, true) => format!("setuid (uid {}) and setgid (gid {})", file.uid, file.gid),
            (true, false) => format!("setuid (uid {})", file.uid),
            _ => format!("setgid (gid {})", file.gid),
        };
        let message = format!(
            "`{}` is {bits}, mode {:04o}: remove it or drop the bit (`chmod u-s,g-s`), or add \
             it to the `setuid-allow-extra` setting",
            file.path, file.mode
        );
        found.push((file.pointer(), message));
    }
    for (pointer, message) in found {
        report.finding(pointer, message);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{filesystem, findings, findings_with, pointers};
    use palisade_sdk::serde_json::{Value, json};

    const ID: &str = "image/setuid-binaries";
    const KIND: &str = "image/filesystem";

    fn tree() -> Value {
        filesystem(json!([
            {"path": "/usr/bin", "type": "dir", "mode": 0o755},
            {"path": "/usr/bin/passwd", "mode": 0o4755, "setuid": true},
            {"path": "/usr/bin/sudo", "mode": 0o4755, "setuid": true},
            {"path": "/usr/bin/chage", "mode": 0o2755, "setgid": true, "gid": 42},
            {"path": "/usr/local/bin/tool", "mode": 0o6755, "setuid": true, "setgid": true,
             "uid": 0, "gid": 0},
            {"path": "/usr/local/bin/link", "type": "symlink", "mode": 0o4777, "link": "tool"},
            {"path": "/usr/local/bin/plain", "mode": 0o755}
        ]))
    }

    #[test]
    fn unexpected_setuid_and_setgid_files_are_reported() {
        assert_eq!(pointers(ID, KIND, tree()), ["/files/2", "/files/4"]);
        let found = findings(ID, KIND, tree());
        assert_eq!(
            found[0].message,
            "`/usr/bin/sudo` is setuid (uid 0), mode 4755: remove it or drop the bit \
             (`chmod u-s,g-s`), or add it to the `setuid-allow-extra` setting"
        );
        assert!(
            found[1]
                .message
                .contains("setuid (uid 0) and setgid (gid 0), mode 6755")
        );
    }

    #[test]
    fn the_mode_alone_marks_setuid_files() {
        let tree = filesystem(json!([{"path": "/opt/x", "mode": 0o4711}]));
        assert_eq!(pointers(ID, KIND, tree), ["/files/0"]);
    }

    #[test]
    fn extra_adds_to_the_default_list() {
        let found = findings_with(
            ID,
            KIND,
            tree(),
            json!({"setuid-allow-extra": ["/usr/bin/sudo"]}),
        );
        let got: Vec<_> = found.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(got, ["/files/4"]);
    }

    #[test]
    fn allow_replaces_the_default_list() {
        let found = findings_with(
            ID,
            KIND,
            tree(),
            json!({"setuid-allow": ["/usr/bin/sudo", "/usr/local/bin/tool"]}),
        );
        let got: Vec<_> = found.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            got,
            ["/files/1", "/files/3"],
            "passwd and chage are no longer allowed"
        );
        let found = findings_with(ID, KIND, tree(), json!({"setuid-allow": []}));
        assert_eq!(found.len(), 4);
    }
}
