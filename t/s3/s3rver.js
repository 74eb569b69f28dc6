#!/usr/bin/env node
/*
 * s3rver for the tests: node t/s3/s3rver.js <dir> <bucket> [<parent pid>]
 *
 * Listens on 127.0.0.1 on a free port, with <bucket> configured, and
 * prints "port <n>" once it accepts connections.  Exits on SIGTERM, and
 * by itself when <parent pid> is gone (a test killed with SIGKILL leaves
 * nothing running).  Credentials: S3RVER / S3RVER.
 */
'use strict';

const S3rver = require('s3rver');

const [dir, bucket, parent] = process.argv.slice(2);
if (!dir || !bucket) {
    console.error('usage: s3rver.js <dir> <bucket> [<parent pid>]');
    process.exit(2);
}

const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket }],
});

/* s3rver 3.7.1 passes its leftover options to http.Server.listen as the
 * backlog, which then never calls back: listen with port and address only. */
const listen = server.listen.bind(server);
server.listen = (port, address) => listen(port, address);

server.run().then(({ port }) => {
    process.stdout.write(`port ${port}\n`);
}, (err) => {
    console.error(`s3rver: ${err.message}`);
    process.exit(1);
});

const stop = () => server.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (parent) {
    setInterval(() => {
        try { process.kill(Number(parent), 0); } catch (e) { stop(); }
    }, 1000).unref();
}
