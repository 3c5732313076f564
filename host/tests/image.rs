//! Container images through the real binary: images built here with Debian's `umoci` and
//! `skopeo` (installed by `.ci/run`), and layouts assembled by the test where an image must be
//! broken or hostile in a precise way.

mod support;

use serde_json::{Value, json};
use support::oci::{
    Layout, Umoci, blob_path, errors, findings_of, hardened, read_json, rules_of, tool,
};
use support::scan_json;

#[test]
fn an_image_built_with_umoci_gives_the_same_findings_as_layout_archive_and_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = Umoci::new(dir.path(), "app");
    image
        .layer(|rootfs| {
            std::fs::create_dir_all(rootfs.join("app")).expect("mkdir");
            std::fs::write(rootfs.join("app/server.py"), "print('hi')\n").expect("write");
        })
        .config(&[
            "--config.user",
            "root",
            "--config.env",
            "AWS_ACCESS_KEY_ID=AKIAQ3EGRDSYB6NWFHWQ",
            "--config.exposedports",
            "22/tcp",
            "--history.created_by",
            "/bin/sh -c curl -fsSL https://get.example.com/install.sh | sh",
        ]);
    tool(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "oci:layout:app",
            "docker-archive:app.tar:acme/app:1.0",
        ],
        dir.path(),
    );
    let config_file = image.config_file();
    let config_arg = config_file.to_string_lossy().into_owned();
    let (code, report, stderr) = scan_json(
        &[
            "--image",
            "oci:layout:app",
            "--image",
            "docker-archive:app.tar",
            "--image",
            &config_arg,
        ],
        dir.path(),
    );
    assert_eq!(code, 1, "{stderr}\n{report:#}");
    assert_eq!(errors(&report), []);
    assert_eq!(report["summary"]["images"], 3);
    let expected_rules = [
        "image/curl-pipe-shell",
        "image/missing-source-label",
        "image/no-healthcheck",
        "image/run-as-root",
        "image/secret-in-env",
        "image/ssh-port-exposed",
    ];
    let layout = findings_of(&report, "oci:layout:app");
    assert_eq!(rules_of(&layout), expected_rules, "{layout:#?}");
    // Images have no lines: each finding says where in the image it is.
    for expected in [
        ("image/run-as-root", "config User"),
        ("image/secret-in-env", "config Env AWS_ACCESS_KEY_ID"),
        ("image/ssh-port-exposed", "config ExposedPorts 22/tcp"),
        ("image/curl-pipe-shell", "history 1"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(layout.contains(&expected), "{expected:?} in {layout:#?}");
    }
    let archive = findings_of(&report, "docker-archive:app.tar");
    assert_eq!(archive, layout, "the archive holds the same image");
    // The bare config is a JSON file: its findings have lines.
    let bare = findings_of(&report, &config_arg);
    assert_eq!(rules_of(&bare), expected_rules, "{bare:#?}");
    assert!(bare.iter().all(|(_, place)| place.starts_with("line ")));
}

#[test]
fn a_hardened_image_has_no_config_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    let manifest = layout.image(&hardened(), &[]);
    layout.tag("1.0", manifest);
    let (code, report, stderr) = scan_json(&["--image", "oci:layout:1.0"], dir.path());
    assert_eq!(errors(&report), []);
    assert_eq!(findings_of(&report, "oci:layout:1.0"), []);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_an_error_and_the_rest_is_still_scanned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    let mut root = hardened();
    root["config"]["User"] = json!("root");
    let tampered = layout.image(&root, &[]);
    root["config"]["Labels"]["org.opencontainers.image.version"] = json!("2");
    let good = layout.image(&root, &[]);
    layout.tag("tampered", tampered.clone()).tag("good", good);
    let manifest: Value = read_json(&blob_path(
        &layout.dir,
        tampered["digest"].as_str().expect("digest"),
    ));
    let config_blob = blob_path(
        &layout.dir,
        manifest["config"]["digest"].as_str().expect("digest"),
    );
    let text = std::fs::read_to_string(&config_blob).expect("config");
    std::fs::write(&config_blob, text.replace("\"root\"", "\"ROOT\"")).expect("tamper");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM alpine:3.20\nUSER root\n",
    )
    .expect("Dockerfile");
    let (code, report, stderr) = scan_json(
        &[
            "Dockerfile",
            "--image",
            "oci:layout:tampered",
            "--image",
            "oci:layout:good",
        ],
        dir.path(),
    );
    assert_eq!(code, 2, "{stderr}");
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].0, "oci:layout:tampered");
    assert!(
        errors[0].1.contains("does not match its digest"),
        "{errors:#?}"
    );
    assert_eq!(
        rules_of(&findings_of(&report, "oci:layout:good")),
        ["image/run-as-root"]
    );
    assert_eq!(findings_of(&report, "oci:layout:tampered"), []);
    let dockerfile = findings_of(&report, "Dockerfile");
    assert!(
        dockerfile.contains(&("docker/run-as-root".to_owned(), "line 2".to_owned())),
        "{dockerfile:#?}"
    );
}

#[test]
fn a_multi_platform_index_scans_the_platform_asked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    let amd64 = layout.image(&hardened(), &[]);
    let mut root = hardened();
    root["architecture"] = json!("arm64");
    root["config"]["User"] = json!("0");
    let arm64 = layout.image(&root, &[]);
    let with_platform = |mut d: Value, arch: &str| {
        d["platform"] = json!({"os": "linux", "architecture": arch});
        d
    };
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [with_platform(amd64, "amd64"), with_platform(arm64, "arm64")],
    });
    let index = layout.blob(
        "application/vnd.oci.image.index.v1+json",
        &serde_json::to_vec(&index).expect("index"),
    );
    layout.tag("multi", index);
    let scan = |platform: &str| {
        let (_, report, _) = scan_json(
            &["--image", "oci:layout:multi", "--platform", platform],
            dir.path(),
        );
        report
    };
    let report = scan("linux/amd64");
    assert_eq!(report["summary"]["resources"], 2, "{report:#}");
    assert_eq!(findings_of(&report, "oci:layout:multi"), []);
    let report = scan("linux/arm64");
    assert_eq!(
        rules_of(&findings_of(&report, "oci:layout:multi")),
        ["image/run-as-root"]
    );
    let report = scan("all");
    assert_eq!(report["summary"]["resources"], 4, "{report:#}");
    let report = scan("linux/s390x");
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]
            .1
            .contains("no image for linux/s390x (it has: linux/amd64, linux/arm64)"),
        "{errors:#?}"
    );
}

#[test]
fn unreadable_image_references_are_errors_that_name_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut layout = Layout::new(&dir.path().join("layout"));
    let manifest = layout.image(&hardened(), &[]);
    layout.tag("1.0", manifest);
    std::fs::write(dir.path().join("not-a.tar"), "plain text").expect("write");
    let (code, report, _) = scan_json(
        &[
            "--image",
            "oci:layout:2.0",
            "--image",
            "oci:nowhere",
            "--image",
            "docker-archive:not-a.tar",
            "--image",
            "docker-archive:missing.tar",
        ],
        dir.path(),
    );
    assert_eq!(code, 2);
    let errors = errors(&report);
    let expect = [
        ("docker-archive:missing.tar", "cannot open missing.tar"),
        (
            "docker-archive:not-a.tar",
            "not-a.tar is not a readable tar archive",
        ),
        (
            "oci:layout:2.0",
            "no image tagged `2.0` in the layout (its tags: 1.0)",
        ),
        ("oci:nowhere", "nowhere is not an OCI image layout"),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for ((file, message), (want_file, want)) in errors.iter().zip(expect) {
        assert_eq!(file, want_file);
        assert!(message.contains(want), "{message:?} should say {want:?}");
    }
}
