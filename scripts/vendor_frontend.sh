#!/usr/bin/env bash
# Vendor the NHS.UK frontend (compiled CSS, JS and the images they use) into
# static/nhsuk/, and axe-core into tests/browser/vendor/, from the npm registry.
#
#   scripts/vendor_frontend.sh                       # the pinned versions below
#   NHSUK_FRONTEND_VERSION=10.7.0 scripts/vendor_frontend.sh   # try an upgrade
#
# Needs npm and node (npm brings node). Nothing is installed: `npm pack` fetches each
# package's tarball (npm checks its registry integrity hash), and only the compiled
# files are copied. The result is committed, so the app itself never needs npm.
#
# Changes made to the upstream files, all so that a strict Content-Security-Policy
# (default-src 'self') holds and Django's ManifestStaticFilesStorage can hash them:
#   - the CSS's root-relative url(/assets/...) become relative (assets/...), so they
#     resolve under STATIC_URL and get hashed by collectstatic;
#   - the @font-face rules that load Frutiger from the NHS CDN are removed (no
#     third-party request from a patient's browser; the font stack falls back to Arial);
#   - the sourceMappingURL comments are removed (the maps are not vendored).
set -euo pipefail

NHSUK_FRONTEND_VERSION="${NHSUK_FRONTEND_VERSION:-10.6.1}"
AXE_CORE_VERSION="${AXE_CORE_VERSION:-4.14.1}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/static/nhsuk"
AXE_DEST="$ROOT/tests/browser/vendor"

command -v npm >/dev/null || { echo "npm is needed (apt-get install npm)" >&2; exit 1; }
command -v node >/dev/null || { echo "node is needed" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

pack() {  # pack NAME VERSION -> unpacks into $TMP/NAME, prints the integrity hash
    local name="$1" version="$2"
    (cd "$TMP" && npm pack --silent --json "$name@$version" > "$name.json")
    mkdir -p "$TMP/$name"
    tar -xzf "$TMP/$name-$version.tgz" -C "$TMP/$name" --strip-components=1
    node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].integrity)' \
        "$TMP/$name.json"
}

NHSUK_INTEGRITY="$(pack nhsuk-frontend "$NHSUK_FRONTEND_VERSION")"
AXE_INTEGRITY="$(pack axe-core "$AXE_CORE_VERSION")"

SRC="$TMP/nhsuk-frontend/dist/nhsuk"
[ -f "$SRC/nhsuk-frontend.min.css" ] || { echo "no compiled CSS in nhsuk-frontend $NHSUK_FRONTEND_VERSION" >&2; exit 1; }
[ -f "$SRC/nhsuk-frontend.min.js" ] || { echo "no compiled JS in nhsuk-frontend $NHSUK_FRONTEND_VERSION" >&2; exit 1; }

# Start from an empty folder so files dropped upstream do not linger.
rm -rf "$DEST"
mkdir -p "$DEST/assets/images" "$AXE_DEST"

node - "$SRC" "$DEST" <<'EOF'
const fs = require("fs");
const path = require("path");
const [src, dest] = process.argv.slice(2);

let css = fs.readFileSync(path.join(src, "nhsuk-frontend.min.css"), "utf8");
css = css.replace(/@font-face\{[^}]*assets\.nhs\.uk[^}]*\}/g, "");
css = css.replace(/url\(\s*(["']?)\/assets\//g, "url($1assets/");
css = css.replace(/\/\*# sourceMappingURL=[^*]*\*\/\s*$/, "");
const external = css.match(/url\(\s*["']?(https?:)?\/\/[^)]*\)/g);
if (external) throw new Error("CSS still loads from elsewhere: " + external.join(", "));
fs.writeFileSync(path.join(dest, "nhsuk-frontend.min.css"), css.trimEnd() + "\n");

let js = fs.readFileSync(path.join(src, "nhsuk-frontend.min.js"), "utf8");
js = js.replace(/\/\/# sourceMappingURL=\S*\s*$/, "");
if (/^\s*import[\s{*]/m.test(js)) throw new Error("the JS bundle imports other modules");
fs.writeFileSync(path.join(dest, "nhsuk-frontend.min.js"), js.trimEnd() + "\n");

// Images: favicons and touch icons for base.html, and every icon the CSS uses.
const images = path.join(src, "assets", "images");
for (const name of fs.readdirSync(images)) {
  if (name === "nhsuk-opengraph-image.png") continue; // pages are noindex and private
  fs.copyFileSync(path.join(images, name), path.join(dest, "assets", "images", name));
}
for (const [, ref] of css.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) {
  if (ref.startsWith("data:") || ref.startsWith("#")) continue;
  if (!fs.existsSync(path.join(dest, ref))) throw new Error("CSS references a missing file: " + ref);
}
EOF

# nhsuk-frontend is MIT licensed; its npm package carries no LICENSE file.
cat > "$DEST/LICENSE" <<EOF
nhsuk-frontend $NHSUK_FRONTEND_VERSION is published by NHS England under the MIT licence
(https://github.com/nhsuk/nhsuk-frontend/blob/main/LICENSE).
EOF

cp "$TMP/axe-core/axe.min.js" "$AXE_DEST/axe.min.js"
cp "$TMP/axe-core/LICENSE" "$AXE_DEST/LICENSE"

cat > "$DEST/VERSION" <<EOF
nhsuk-frontend $NHSUK_FRONTEND_VERSION $NHSUK_INTEGRITY
axe-core $AXE_CORE_VERSION $AXE_INTEGRITY
# Written by scripts/vendor_frontend.sh from the npm registry with npm pack.
# static/nhsuk/ holds dist/nhsuk/nhsuk-frontend.min.{css,js} and dist/nhsuk/assets/images/
# (minus the Open Graph image); the CSS has its url(/assets/...) made relative, the
# Frutiger @font-face rules (NHS CDN) and the source map comments removed.
# axe-core's axe.min.js and LICENSE are in tests/browser/vendor/.
EOF

echo "nhsuk-frontend $NHSUK_FRONTEND_VERSION -> ${DEST#"$ROOT"/}"
echo "axe-core $AXE_CORE_VERSION -> ${AXE_DEST#"$ROOT"/}"
for f in "$DEST/nhsuk-frontend.min.css" "$DEST/nhsuk-frontend.min.js"; do
    printf '  %-24s %7d bytes, %6d gzipped\n' "$(basename "$f")" "$(wc -c < "$f")" "$(gzip -9c "$f" | wc -c)"
done
