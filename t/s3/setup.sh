#!/bin/sh
# t/s3/setup.sh: install s3rver and the SigV4 verifier from the lockfile
# (npm ci), once; the t/3*.t suites need them.  Run by `make test`.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
if [ -f "$dir/node_modules/.package-lock.json" ] &&
   [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    exit 0
fi
command -v npm >/dev/null || { echo "t/s3/setup.sh: npm is missing (make deps)" >&2; exit 1; }
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
