#!/bin/bash
# make_photos.sh <dir>: the benchmark's input photos, made with the vips CLI
# and kept in <dir> (bench/photos, not committed) until this recipe changes.
#
#   1920x1080.jpg  4032x3024.jpg (Q 85)  2048x1536.png
#
# Photo-like content that compresses like a photo: large smooth colour
# regions (coarse noise upscaled), mid-scale texture, fine sensor noise and
# a line of text for hard edges.  Deterministic (fixed seeds).
set -eu

dir=$1
recipe=$(sha256sum "$0" | cut -c1-16)
[ -f "$dir/.recipe" ] && [ "$(cat "$dir/.recipe")" = "$recipe" ] && exit 0

mkdir -p "$dir"
rm -f "$dir"/*.jpg "$dir"/*.png "$dir/.recipe"
t=$(mktemp -d /dev/shm/media-bench-photo.XXXXXX)
trap 'rm -rf "$t"' EXIT

make_one() {   # <out> <width> <height> <seed>
    local out=$1 W=$2 H=$3 s=$4 b
    for b in 0 1 2; do
        vips gaussnoise "$t/c$b.v" $((W / 160 + 2)) $((H / 160 + 2)) \
            --sigma 50 --mean 128 --seed $((s * 10 + b))
    done
    vips bandjoin "$t/c0.v $t/c1.v $t/c2.v" "$t/c.v"
    vips resize "$t/c.v" "$t/cu.v" 160 --kernel cubic
    vips crop "$t/cu.v" "$t/cc.v" 0 0 "$W" "$H"
    vips gaussnoise "$t/m.v" $((W / 12 + 2)) $((H / 12 + 2)) \
        --sigma 16 --mean 0 --seed $((s * 10 + 5))
    vips resize "$t/m.v" "$t/mu.v" 12 --kernel cubic
    vips crop "$t/mu.v" "$t/mc.v" 0 0 "$W" "$H"
    vips add "$t/cc.v" "$t/mc.v" "$t/s1.v"
    vips gaussnoise "$t/f.v" "$W" "$H" --sigma 3 --mean 0 --seed $((s * 10 + 6))
    vips add "$t/s1.v" "$t/f.v" "$t/s2.v"
    vips text "$t/txt.v" "Apartment 12, living room - ${W}x${H}" --dpi $((W / 5))
    vips embed "$t/txt.v" "$t/tm.v" $((W / 20)) $((H * 2 / 3)) "$W" "$H"
    vips add "$t/s2.v" "$t/tm.v" "$t/s3.v"
    vips cast "$t/s3.v" "$t/photo.v" uchar
    case "$out" in
    *.jpg) vips jpegsave "$t/photo.v" "$out.tmp.jpg" --Q 85 ;;
    *.png) vips pngsave "$t/photo.v" "$out.tmp.png" ;;
    esac
    mv "$out.tmp.${out##*.}" "$out"
    rm -f "$t"/*.v
}

make_one "$dir/1920x1080.jpg" 1920 1080 2
make_one "$dir/4032x3024.jpg" 4032 3024 1
make_one "$dir/2048x1536.png" 2048 1536 3
echo "$recipe" >"$dir/.recipe"
