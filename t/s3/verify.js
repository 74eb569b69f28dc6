#!/usr/bin/env node
/*
 * An independent check of the presigned PUT URLs the module issues:
 *
 *   node t/s3/verify.js <access key id> <secret>  < lines
 *
 * Each input line is "<url>\t<content type>\t<content length>".  The
 * signature is computed again with @smithy/signature-v4 (the AWS SDK's
 * signer) from the URL's own X-Amz-Date, X-Amz-Expires and credential
 * scope, the signed headers host, content-type and content-length, and the
 * secret; it must equal the URL's X-Amz-Signature.  One output line per
 * input line: "ok" or "mismatch: <why>"; the exit status is 1 if any line
 * did not verify.  s3rver does not check signatures, this does.
 */
'use strict';

const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');
const readline = require('readline');

const [accessKeyId, secretAccessKey] = process.argv.slice(2);
if (!accessKeyId || !secretAccessKey) {
    console.error('usage: verify.js <access key id> <secret> < lines');
    process.exit(2);
}

const ADDED = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date',
               'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];

function amzDate(s) {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s || '');
    if (!m) throw new Error(`bad X-Amz-Date ${s}`);
    return new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

async function verify(line) {
    const [raw, ctype, length] = line.split('\t');
    const url = new URL(raw);
    const q = url.searchParams;
    const cred = (q.get('X-Amz-Credential') || '').split('/');
    if (cred.length !== 5 || cred[0] !== accessKeyId || cred[3] !== 's3'
        || cred[4] !== 'aws4_request')
        return `bad X-Amz-Credential ${q.get('X-Amz-Credential')}`;
    if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256')
        return `bad X-Amz-Algorithm ${q.get('X-Amz-Algorithm')}`;
    if (q.get('X-Amz-SignedHeaders') !== 'content-length;content-type;host')
        return `signed headers are ${q.get('X-Amz-SignedHeaders')}`;
    const query = {};
    for (const [k, v] of q) if (!ADDED.includes(k)) query[k] = v;
    const signer = new SignatureV4({
        service: 's3', region: cred[2], sha256: Sha256,
        credentials: { accessKeyId, secretAccessKey },
        uriEscapePath: false,           /* S3: the path is escaped once */
    });
    const signed = await signer.presign({
        method: 'PUT', protocol: url.protocol, hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname, query,
        headers: {
            host: url.host,
            'content-type': ctype,
            'content-length': String(length),
            'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        },
    }, {
        signingDate: amzDate(q.get('X-Amz-Date')),
        expiresIn: Number(q.get('X-Amz-Expires')),
        unsignableHeaders: new Set(['x-amz-content-sha256']),
        unhoistableHeaders: new Set(['x-amz-content-sha256']),
    });
    const want = signed.query['X-Amz-Signature'];
    const got = q.get('X-Amz-Signature');
    return want === got ? null : `signature ${got}, expected ${want}`;
}

(async () => {
    let bad = 0;
    const rl = readline.createInterface({ input: process.stdin });
    for await (const line of rl) {
        if (!line.trim()) continue;
        let why;
        try { why = await verify(line); } catch (e) { why = e.message; }
        if (why) bad++;
        console.log(why ? `mismatch: ${why}` : 'ok');
    }
    process.exit(bad ? 1 : 0);
})();
