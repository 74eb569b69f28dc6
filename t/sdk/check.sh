#!/bin/sh
# t/sdk/check.sh: presign the same requests with the AWS SDK for JavaScript
# (from the lockfile) and check that our C signer makes the same URLs and
# signed headers, byte for byte.  Run by `make test` after `make unit`.
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$dir/../.." && pwd)
if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
   [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
fi
node "$dir/presign.js" > "$root/build/sdk.tsv"
"$root/build/test_sigv4" "$root/build/sdk.tsv"
