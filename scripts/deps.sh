#!/bin/sh
# Install the Debian packages the build, the stack and the tests need,
# skipping the apt round trip when everything is already there.
set -eu

PKGS="nginx nginx-dev postgresql-15 libpq-dev libjansson-dev libvips-dev \
libvips-tools libwebp-dev libjpeg62-turbo-dev libdeflate-dev libcurl4-openssl-dev \
libssl-dev libavformat-dev libavcodec-dev \
libavutil-dev libswscale-dev ffmpeg wrk libtest-base-perl libipc-run-perl \
libwww-perl pkg-config gcc make nodejs"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done

# npm comes with NodeSource's nodejs; Debian packages it apart
command -v npm >/dev/null 2>&1 || missing="$missing npm"

[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
