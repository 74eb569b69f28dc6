'use strict';
// The reference for `make bench` (bench/run.sh): the photo pipeline with
// sharp, the same work as the media worker's optimize job.
//
//   node pipeline.js <photo> <count> <in-flight> <out-dir> [clone|once]
//
// Per photo: decode with EXIF orientation applied (rotate()), WebP variants
// 1024/512/128 px wide at quality 80 without enlargement (metadata stripped,
// sharp's default), a BlurHash (4x3 components, as ours) of a 32 px wide
// raw thumbnail with the `blurhash` package, and the three WebP files
// written to <out-dir> durably (write, fsync, rename), as the worker stores
// its variants.
//
// Modes: "clone" (default) is the idiomatic sharp code, one pipeline per
// output with clone(), each decoding the file with shrink-on-load; "once"
// decodes once to a raw 1024 px image and resizes that, as our worker does.
//
// sharp.concurrency(1): libvips threads per pipeline; two photos in flight
// on two cores is sharp's best setting here (issue 4).
//
// Prints one line: RESULT photos=<n> seconds=<s> rate=<photos/s>
// bytes=<webp bytes per photo> maxrss_kb=<peak RSS of this process>

const fs = require('node:fs/promises');
const path = require('node:path');
const sharp = require('sharp');
const { encode } = require('blurhash');

const [file, countArg, inflightArg, outDir, modeArg] = process.argv.slice(2);
const count = Number(countArg);
const inflight = Number(inflightArg);
const mode = modeArg || 'clone';
const WIDTHS = [1024, 512, 128];

sharp.concurrency(1);
sharp.cache(false);

async function store(name, buf) {
  const dst = path.join(outDir, name);
  const tmp = `${dst}.tmp`;
  const fh = await fs.open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(buf);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, dst);
}

function blurhashOf(pipeline) {
  return pipeline.resize({ width: 32, withoutEnlargement: true })
    .ensureAlpha().raw().toBuffer({ resolveWithObject: true })
    .then(({ data, info }) =>
      encode(new Uint8ClampedArray(data), info.width, info.height, 4, 3));
}

async function photoClone(i) {
  const img = sharp(file, { failOn: 'error' }).rotate();
  const [webps, hash] = await Promise.all([
    Promise.all(WIDTHS.map((w) => img.clone()
      .resize({ width: w, withoutEnlargement: true })
      .webp({ quality: 80 }).toBuffer())),
    blurhashOf(img.clone()),
  ]);
  return [webps, hash];
}

async function photoOnce(i) {
  const { data, info } = await sharp(file, { failOn: 'error' }).rotate()
    .resize({ width: 1024, withoutEnlargement: true })
    .raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height,
                       channels: info.channels } };
  const [webps, hash] = await Promise.all([
    Promise.all(WIDTHS.map((w) => sharp(data, raw)
      .resize({ width: w, withoutEnlargement: true })
      .webp({ quality: 80 }).toBuffer())),
    blurhashOf(sharp(data, raw)),
  ]);
  return [webps, hash];
}

const photo = mode === 'once' ? photoOnce : photoClone;
let bytes = 0;

async function one(i) {
  const [webps, hash] = await photo(i);
  if (typeof hash !== 'string' || hash.length < 6) throw new Error('no blurhash');
  await Promise.all(webps.map((b, k) => store(`${i}-${WIDTHS[k]}.webp`, b)));
  return webps.reduce((n, b) => n + b.length, 0);
}

async function run(n) {
  let next = 0;
  let total = 0;
  async function lane() {
    while (next < n) {
      const b = await one(next++);    // not "total += await": that reads
      total += b;                     // total before the other lane adds
    }
  }
  await Promise.all(Array.from({ length: inflight }, lane));
  return total;
}

(async () => {
  await run(Math.min(2, count));            // warm-up, not timed
  const t0 = process.hrtime.bigint();
  bytes = await run(count);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rss = process.resourceUsage().maxRSS;
  process.stdout.write(`RESULT photos=${count} seconds=${s.toFixed(3)} ` +
    `rate=${(count / s).toFixed(2)} bytes=${Math.round(bytes / count)} ` +
    `maxrss_kb=${rss}\n`);
})().catch((err) => {
  process.stderr.write(`sharp pipeline: ${err.stack || err}\n`);
  process.exit(1);
});
