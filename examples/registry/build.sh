#!/usr/bin/env bash
# Builds a demo signed plugin registry from scratch, then a project that locks and scans with it.
#
#   bash examples/registry/build.sh [OUT_DIR]      (default: target/registry-demo)
#
# What it does, as a security team and two plugin teams would:
#   1. ssh-keygen makes two security root keys and one key per team (platform, appsec);
#   2. the security team creates the registry (2-of-2 root signatures) and delegates the name
#      prefixes platform/ and appsec/ to the teams' keys;
#   3. each team builds its pack (the Kubernetes and Dockerfile packs of this repository),
#      writes its manifest and signs it — platform with `palisade plugin sign`, appsec with
#      plain `ssh-keygen -Y sign`;
#   4. the registry publishes both (checking each signature and namespace), both root keys sign
#      the index, and `palisade registry verify` checks the whole registry;
#   5. a project pins the root keys in palisade.toml, runs `palisade lock`, and scans.
# Set PALISADE to a palisade binary to use it instead of `cargo run`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$repo/target/registry-demo}"
if [ -n "${PALISADE:-}" ]; then
  palisade() { "$PALISADE" "$@"; }
else
  palisade() { cargo run -q --manifest-path "$repo/Cargo.toml" -- "$@"; }
fi

rm -rf "$out"
# A cache of its own: palisade remembers each registry's highest index version (to refuse
# rollbacks), and a demo rebuilt from scratch at the same path starts again at version 1.
export PALISADE_CACHE_DIR="$out/cache"
mkdir -p "$out/keys" "$out/work/k8s" "$out/work/docker" "$out/project"
cd "$out"

echo "--- keys (ssh-keygen)"
for key in root-1 root-2 platform appsec; do
  ssh-keygen -q -t ed25519 -N "" -C "$key@demo" -f "keys/$key"
done

echo "--- the security team creates the registry and delegates namespaces"
palisade registry init registry --root-key keys/root-1.pub --root-key keys/root-2.pub --threshold 2
palisade registry add-team registry --team platform --key keys/platform.pub --prefix platform/
palisade registry add-team registry --team appsec --key keys/appsec.pub --prefix appsec/

echo "--- the teams build, describe and sign their packs"
# The same build the palisade binary embeds these packs from (and the same target directory,
# so this is quick after a first build).
plugins_target="${PALISADE_PLUGIN_TARGET_DIR:-$repo/target/plugins}"
"${CARGO:-cargo}" build -q --manifest-path "$repo/Cargo.toml" --target wasm32-wasip2 --profile plugin \
  --target-dir "$plugins_target" -p palisade-pack-kubernetes -p palisade-pack-dockerfile
cp "$plugins_target/wasm32-wasip2/plugin/palisade_pack_kubernetes.wasm" work/k8s/k8s.wasm
cp "$plugins_target/wasm32-wasip2/plugin/palisade_pack_dockerfile.wasm" work/docker/docker.wasm
palisade plugin manifest work/k8s/k8s.wasm --name platform/k8s --version 1.0.0 \
  --team platform --description "Kubernetes workload hardening"
palisade plugin sign work/k8s/palisade-plugin.toml --key keys/platform
palisade plugin manifest work/docker/docker.wasm --name appsec/docker --version 2.1.0 \
  --team appsec --description "Dockerfile hygiene"
ssh-keygen -q -Y sign -n palisade-plugin -f keys/appsec work/docker/palisade-plugin.toml

echo "--- the registry publishes them; both root keys sign the index"
palisade registry publish registry work/k8s/palisade-plugin.toml work/docker/palisade-plugin.toml
palisade registry sign registry --key keys/root-1 --expires 30d
palisade registry sign registry --key keys/root-2
palisade registry verify registry --root-key keys/root-1.pub --root-key keys/root-2.pub --threshold 2

echo "--- a project pins the root keys, locks, and scans"
cat > project/palisade.toml <<TOML
default-packs = false

[registry]
path = "../registry"
root-keys = [
  "$(cat keys/root-1.pub)",
  "$(cat keys/root-2.pub)",
]
threshold = 2

[registry.plugins]
"platform/k8s" = "^1"
"appsec/docker" = "~2.1"
TOML
cp "$repo/examples/kubernetes/web.yaml" "$repo/examples/docker/Dockerfile" project/
cd project
palisade lock
status=0
palisade scan . || status=$?
echo "--- scan exit code: $status (1 = findings, as expected for these examples)"
[ "$status" = 1 ]
