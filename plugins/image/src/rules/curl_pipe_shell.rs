//! `image/curl-pipe-shell`: no build step may pipe a download straight into a shell.

use palisade_sdk::{Report, Resource, Rule, Severity, image, shell};

pub const RULE: Rule = Rule {
    id: "image/curl-pipe-shell",
    title: "Build step piped a downloaded script into a shell",
    severity: Severity::High,
    kinds: image::CONFIG_KINDS,
    description: "`curl https://… | sh` runs whatever the server sent at build time, with the \
build's privileges, unchecked and unrecorded: a compromised or spoofed server, a changed \
installer or a truncated download (the shell runs the half it got) changed the image without \
any change to its Dockerfile, and nobody can tell afterwards what ran. This rule judges \
`image/config` and reads the build history, which records the script of every `RUN` of the \
image and of its base images (`/bin/sh -c curl -fsSL https://x | sh`, BuildKit's \
`RUN /bin/sh -c … # buildkit`, with build arguments `|1 VERSION=1.2 /bin/sh -c …`). It fires \
for a `curl` or `wget` command whose output is piped, directly or through other commands \
(`| tee log | sudo bash`), into a shell or interpreter (`sh`, `bash`, `zsh`, `ash`, `dash`, \
`ksh`, `fish`, `python`, `perl`, `ruby`, `node`, `php`, `pwsh`), and for a shell run on a \
download's output (`sh -c \"$(curl …)\"`, `bash <(wget -O- …)`), pointing at that step's \
`created_by`. An interpreter that gets its program from an argument (`python3 -c …`, \
`python3 -m json.tool`) only reads the download as data and is not reported.",
    remediation: "Download to a file, verify it against a checksum or signature you pinned, \
then run it:\n
```dockerfile
RUN curl -fsSLo /tmp/install.sh https://example.com/install.sh \\
 && echo \"<sha256>  /tmp/install.sh\" | sha256sum -c - \\
 && sh /tmp/install.sh && rm /tmp/install.sh
```\n
or use `ADD --checksum=sha256:<digest> <url> <dest>`, or a distribution package. When the step \
comes from a base image, take it up with that image's maintainers or choose another base.",
    help_uri: Some("https://docs.docker.com/reference/dockerfile/#add---checksum"),
    tags: &["supply-chain", "cwe/494"],
    check,
};

fn check(resource: &Resource, report: &mut Report) {
    let Some(config) = image::config(resource) else {
        return;
    };
    for entry in config.history() {
        let Some(script) = entry.script() else {
            continue;
        };
        for download in shell::unchecked_downloads(&shell::split(script)) {
            report.finding(
                entry.pointer_to("created_by"),
                format!(
                    "build step {}: {}; download to a file and verify its checksum before \
                     running it",
                    entry.index + 1,
                    download.message()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{findings, pointers};
    use palisade_sdk::serde_json::{Value, json};

    const ID: &str = "image/curl-pipe-shell";
    const KIND: &str = "image/config";

    fn history(lines: &[&str]) -> Value {
        json!({"history": lines.iter().map(|l| json!({"created_by": l, "empty_layer": false}))
            .collect::<Vec<_>>()})
    }

    #[test]
    fn piped_downloads_in_every_builder_format_are_reported() {
        let config = history(&[
            "/bin/sh -c #(nop) ADD file:abc in / ",
            "/bin/sh -c curl -fsSL https://x/install.sh | sh",
            "RUN /bin/sh -c apt-get update && wget -qO- https://x | sudo bash -s # buildkit",
            "|1 VERSION=1.2 /bin/sh -c curl -fsSL https://x/$VERSION | bash",
            "RUN |1 V=1 /bin/sh -c sh -c \"$(curl -fsSL https://x)\" # buildkit",
            "/bin/bash -o pipefail -c curl -fsSL https://x | python3",
        ]);
        assert_eq!(
            pointers(ID, KIND, config.clone()),
            [
                "/history/1/created_by",
                "/history/2/created_by",
                "/history/3/created_by",
                "/history/4/created_by",
                "/history/5/created_by",
            ]
        );
        let found = findings(ID, KIND, config);
        assert_eq!(
            found[1].message,
            "build step 3: `wget` output is piped into `bash`, which runs it unchecked; \
             download to a file and verify its checksum before running it"
        );
    }

    #[test]
    fn verified_downloads_and_metadata_steps_pass() {
        let config = history(&[
            "/bin/sh -c #(nop)  ENV URL=https://x | sh",
            "ENV A=curl | sh",
            "COPY install.sh /tmp/ # buildkit",
            "RUN /bin/sh -c curl -fsSLo /tmp/i.sh https://x && sha256sum -c sums && sh /tmp/i.sh # buildkit",
            "/bin/sh -c curl -fsSL https://x | tar -xz -C /opt",
            "/bin/sh -c echo 'curl x | sh' > /README",
            "",
        ]);
        assert!(pointers(ID, KIND, config).is_empty());
    }
}
