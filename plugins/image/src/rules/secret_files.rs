//! `image/secret-files`: private keys and credential files must not ship in an image.

use palisade_sdk::image::File;
use palisade_sdk::{Report, Resource, Rule, Severity, image};

pub const RULE: Rule = Rule {
    id: "image/secret-files",
    title: "Private key or credential file in the image",
    severity: Severity::High,
    kinds: image::FILESYSTEM_KINDS,
    description: "Every file in an image is readable by anyone who can pull it: `docker save` \
or `crane export` unpacks the layers without running anything. A private key or a credential \
file that was copied in by accident (`COPY . .` with no `.dockerignore`, a home directory \
copied whole) is a leaked credential for as long as the image exists anywhere. This rule \
judges `image/filesystem`, the image's merged file tree, and fires for each regular file that \
is:\n
- a private key by its content (the host reads the first bytes of each file: a PEM or OpenSSH \
`-----BEGIN … PRIVATE KEY-----`), whatever its name; names such as `id_rsa`, `id_ed25519` or \
`*.pem` alone are not enough, since public keys and certificates share them;\n
- an environment file: `.env` or `.env.<stage>` (`.env.production`), but not the templates \
`.env.example`, `.env.sample`, `.env.template`, `.env.dist`;\n
- a credential store of a common tool, judged by its path: `.aws/credentials`, \
`.config/gcloud/credentials.db`, `.config/gcloud/access_tokens.db`, \
`.config/gcloud/application_default_credentials.json`, the Azure CLI's token caches \
(`.azure/accessTokens.json`, `.azure/msal_token_cache.json`, `.azure/msal_token_cache.bin`, \
`.azure/service_principal_entries.json`), `.kube/config`, `.netrc`, `.pgpass`, \
`.git-credentials`. Files such as `.docker/config.json` or `.npmrc` only hold a credential \
when their content says so, which this rule cannot see, and are not reported.\n
It points at the file, shown with the layer that added it. A file that a later layer deleted is \
not in the merged tree and is not reported by this rule, although its bytes are still in the \
earlier layer.",
    remediation: "Keep secrets out of the build context (`.dockerignore`: `**/.env`, `**/*.pem`, \
`.aws`, `.ssh`, `.kube`) and out of every layer: deleting a file in a later `RUN` does not \
remove it from the layer that added it. Give build steps credentials with a secret mount \
(`RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci`) and the container its secrets \
at run time. Then rotate the exposed credential.",
    help_uri: Some("https://docs.docker.com/build/concepts/context/#dockerignore-files"),
    tags: &["secrets", "cwe/798", "cwe/522"],
    check,
};

/// Credential stores of common tools, by path below a home (or any) directory, with what
/// they hold.
const CREDENTIAL_PATHS: &[(&str, &str)] = &[
    (".aws/credentials", "AWS CLI credentials"),
    (
        ".config/gcloud/credentials.db",
        "Google Cloud SDK credentials",
    ),
    (
        ".config/gcloud/access_tokens.db",
        "Google Cloud SDK access tokens",
    ),
    (
        ".config/gcloud/application_default_credentials.json",
        "Google application default credentials",
    ),
    (".azure/accessTokens.json", "Azure CLI access tokens"),
    (".azure/msal_token_cache.json", "Azure CLI access tokens"),
    (".azure/msal_token_cache.bin", "Azure CLI access tokens"),
    (
        ".azure/service_principal_entries.json",
        "Azure service principal secrets",
    ),
    (".kube/config", "Kubernetes cluster credentials"),
    (".netrc", "netrc login credentials"),
    (".pgpass", "PostgreSQL passwords"),
    (".git-credentials", "Git credentials"),
];

/// `.env` variants that hold examples rather than values.
const ENV_TEMPLATES: &[&str] = &["example", "sample", "template", "tmpl", "dist", "defaults"];

fn check(resource: &Resource, report: &mut Report) {
    let Some(filesystem) = image::filesystem(resource) else {
        return;
    };
    for file in filesystem.files().filter(File::is_regular) {
        let Some(what) = secret_kind(&file) else {
            continue;
        };
        report.finding(
            file.pointer(),
            format!(
                "`{}` is {what}, readable by anyone who can pull the image: keep it out of the \
                 build context and every layer, then rotate it",
                file.path
            ),
        );
    }
}

/// What kind of secret a regular file of the tree is, for the message.
fn secret_kind(file: &File) -> Option<&'static str> {
    if file.content == Some("private-key") {
        return Some("a private key");
    }
    let name = file.name();
    if let Some(stage) = name.strip_prefix(".env")
        && (stage.is_empty()
            || stage
                .strip_prefix('.')
                .is_some_and(|stage| !stage.is_empty() && !ENV_TEMPLATES.contains(&stage)))
    {
        return Some("an environment file, which usually holds credentials");
    }
    CREDENTIAL_PATHS
        .iter()
        .find(|(suffix, _)| {
            file.path
                .strip_suffix(suffix)
                .is_some_and(|parent| parent.ends_with('/'))
        })
        .map(|(_, what)| *what)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{filesystem, findings, pointers};
    use palisade_sdk::serde_json::json;

    const ID: &str = "image/secret-files";
    const KIND: &str = "image/filesystem";

    #[test]
    fn keys_env_files_and_credential_stores_are_reported() {
        let tree = filesystem(json!([
            {"path": "/app/.env"},
            {"path": "/app/.env.production"},
            {"path": "/app/server.pem", "content": "private-key"},
            {"path": "/home/app/.kube/config"},
            {"path": "/root/.aws/credentials"},
            {"path": "/root/.azure/msal_token_cache.json"},
            {"path": "/root/.config/gcloud/credentials.db"},
            {"path": "/root/.git-credentials"},
            {"path": "/root/.netrc"},
            {"path": "/root/.pgpass"},
            {"path": "/srv/keys/deploy", "content": "private-key"}
        ]));
        assert_eq!(pointers(ID, KIND, tree.clone()).len(), 11);
        let found = findings(ID, KIND, tree);
        assert_eq!(
            found[2].message,
            "`/app/server.pem` is a private key, readable by anyone who can pull the image: \
             keep it out of the build context and every layer, then rotate it"
        );
        assert!(found[4].message.contains("AWS CLI credentials"));
    }

    #[test]
    fn public_keys_templates_lookalikes_and_links_pass() {
        let tree = filesystem(json!([
            {"path": "/app/.env.example"},
            {"path": "/app/.env.sample"},
            {"path": "/app/.environment"},
            {"path": "/app/.envrc"},
            {"path": "/etc/ssl/certs/ca.pem", "content": null},
            {"path": "/root/.ssh/id_rsa.pub"},
            {"path": "/root/.ssh/id_ed25519"},
            {"path": "/root/.aws/config"},
            {"path": "/root/.kube/config.bak"},
            {"path": "/opt/my.netrc"},
            {"path": "/root/.docker/config.json"},
            {"path": "/app/.kube/config", "type": "dir", "mode": 0o755},
            {"path": "/app/link/.env", "type": "symlink", "mode": 0o777, "link": "/run/env"}
        ]));
        assert!(pointers(ID, KIND, tree).is_empty());
    }

    #[test]
    fn removed_secrets_are_not_reported() {
        let mut tree = filesystem(json!([{"path": "/etc/passwd"}]));
        tree["removed"] = json!([{"path": "/root/.ssh/id_rsa", "layer": 0, "removed_in": 1},
                                 {"path": "/app/.env", "layer": 0, "removed_in": 1}]);
        assert!(pointers(ID, KIND, tree).is_empty());
    }
}
