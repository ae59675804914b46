#!/usr/bin/env bash
# Fetches the ONNX Runtime C/C++ API headers into DEST (DEST/include/onnxruntime/*.h).
#
# The onnxruntime wheel carries the shared library but no headers, so the build takes
# them from Debian's libonnxruntime-dev package, pinned to one version (API 21, the
# minimum pyproject.toml allows; a newer runtime serves older API versions) and, for
# amd64, to one SHA-256. apt itself checks the package against the archive's signed
# index; the pinned hash also catches a rebuilt package under the same version. The
# package is downloaded with apt using a private state directory and a sources list
# derived from this machine's own Debian source with the suite set to trixie; nothing on
# the system is changed. Where apt is missing (the manylinux build images), the amd64
# package is downloaded from Debian's pool with curl and must match the pinned SHA-256.
# This is the last resort of cmake/fastsbert_ort_headers.cmake.
#
# Usage: scripts/fetch_ort_headers.sh DEST
set -euo pipefail
version=1.21.0+dfsg-1
sha256_amd64=14f7d959d5deacbcf1504830d4189f91fc67382b399ed9ae9d3aa9c4050ced08
dest=${1:?usage: fetch_ort_headers.sh DEST}
if [ -f "$dest/include/onnxruntime/onnxruntime_cxx_api.h" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

install_headers() {  # DEB: copies its ONNX Runtime headers into $dest
  local deb=$1 header
  mkdir -p "$work/root"
  if command -v dpkg >/dev/null; then
    dpkg -x "$deb" "$work/root"
  else
    (cd "$work" && ar x "$deb" data.tar.xz) && tar -xJf "$work/data.tar.xz" -C "$work/root"
  fi
  header=$(find "$work/root" -name onnxruntime_cxx_api.h | head -1)
  [ -n "$header" ] || { echo "fetch_ort_headers: no onnxruntime_cxx_api.h in $deb" >&2; exit 1; }
  mkdir -p "$dest/include/onnxruntime"
  cp "$(dirname "$header")"/*.h "$dest/include/onnxruntime/"
  echo "fetch_ort_headers: $(basename "$deb") -> $dest/include/onnxruntime"
}

# Without apt (e.g. the manylinux build images): the amd64 package straight from Debian's
# pool, accepted only with the pinned SHA-256. The headers in it serve every architecture.
if ! command -v apt-get >/dev/null; then
  deb="$work/libonnxruntime-dev_${version}_amd64.deb"
  url="https://deb.debian.org/debian/pool/main/o/onnxruntime/$(basename "$deb")"
  curl -fsSL -o "$deb" "$url" || {
    echo "fetch_ort_headers: apt-get not found and $url could not be downloaded; pass" \
         "-DFASTSBERT_ORT_INCLUDE_DIR=<dir with onnxruntime_cxx_api.h> to CMake" >&2
    exit 1
  }
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  if [ "$got" != "$sha256_amd64" ]; then
    echo "fetch_ort_headers: $url has SHA-256 $got, expected $sha256_amd64" >&2
    exit 1
  fi
  install_headers "$deb"
  exit 0
fi
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/etc/sources.list.d" "$work/etc/preferences.d"

# The machine's own Debian mirror, whichever way its sources are written.
uri=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
  [ -n "$uri" ] && break
done
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
  uri=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$uri" ] || { echo "fetch_ort_headers: no Debian source found in /etc/apt" >&2; exit 1; }

echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri trixie main" > "$work/etc/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$work/etc/sources.list"
  -o "Dir::Etc::SourceParts=$work/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$work/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$work/etc/preferences.d"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=root"
)
apt-get "${apt_opts[@]}" -qq update >/dev/null
(cd "$work" && apt-get "${apt_opts[@]}" -qq download "libonnxruntime-dev=$version" >/dev/null) || {
  echo "fetch_ort_headers: libonnxruntime-dev $version is not available from $uri (trixie)" >&2
  exit 1
}
deb=$(ls "$work"/libonnxruntime-dev_*.deb)
if [ "$(dpkg --print-architecture)" = amd64 ]; then
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  if [ "$got" != "$sha256_amd64" ]; then
    echo "fetch_ort_headers: $(basename "$deb") has SHA-256 $got, expected $sha256_amd64" >&2
    exit 1
  fi
fi
install_headers "$deb"
