#!/usr/bin/env node
/*
 * Presigned URLs and signed headers from the AWS SDK for JavaScript v3, to
 * check ngx_module/ngx_http_media_sigv4.c against: one line per case, tab
 * separated, in the columns test_sigv4 reads:
 *
 *   kind  access_key_id  secret  region  scheme  endpoint  bucket
 *   path_style  method  key  content_type  content_length  expires  epoch
 *   url  authorization
 *
 * kind is "presign" (url is a query-presigned URL, getSignedUrl) or
 * "authorize" (a header-signed request as the S3 client sends it: url
 * and its Authorization header).  "-" is a field not given.
 *
 *   npm ci --prefix t/sdk        (node_modules stays out of git)
 *   node t/sdk/presign.js > build/sdk.tsv && build/test_sigv4 build/sdk.tsv
 *
 * What the SDK adds and we do not, taken out before signing (so what is
 * compared is still what the SDK signs): the "x-id=PutObject" query
 * parameter, and on header-signed requests its user-agent and retry
 * headers.  After signing, X-Amz-Signature is moved to the end of the
 * query, where AWS's examples put it; the order of parameters is not
 * signed.  content-type and content-length are made signed headers with
 * signableHeaders and kept out of the query with unhoistableHeaders, and
 * requestChecksumCalculation 'WHEN_REQUIRED' keeps a checksum out.
 */

'use strict';

process.removeAllListeners('warning');
process.on('warning', () => {});   /* the SDK's node-version notice */

const {
    S3Client, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
    DeleteObjectCommand,
} = require('@aws-sdk/client-s3');
const { getSignedUrl } = require('@aws-sdk/s3-request-presigner');

const AWS_DOC = ['AKIAIOSFODNN7EXAMPLE',
                 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'];
const R2_LIKE = ['3f6c2b1a9e8d7c6b5a4f3e2d1c0b9a87',
                 '9b1e4d0c7a5f2e8b3d6c1a0f9e8d7c6b' +
                 '5a4f3e2d1c0b9a8f7e6d5c4b3a291807'];
const MINIO = ['minioadmin', 'minio+secret/with=odd&chars'];

const T2013 = Date.UTC(2013, 4, 24, 0, 0, 0) / 1000;
const T2026 = Date.UTC(2026, 2, 1, 12, 34, 56) / 1000;
const T2026_END = Date.UTC(2026, 11, 31, 23, 59, 59) / 1000;
const T2000_LEAP = Date.UTC(2000, 1, 29, 6, 7, 8) / 1000;

const AWS = ['us-east-1', 'https', 's3.amazonaws.com', 'examplebucket', 0];
const AWS_EU = ['eu-west-1', 'https', 's3.eu-west-1.amazonaws.com',
                'media-eu-1', 0];
const R2 = ['auto', 'https', '3f6c2b1a9e8d7c6b5a4f.r2.cloudflarestorage.com',
            'rentals', 1];
const LOCAL = ['us-east-1', 'http', '127.0.0.1:9000', 'media', 1];
const LOCAL_VH = ['us-east-1', 'http', 'localhost:9000', 'media', 0];

/* [kind, creds, store, method, key, content type, length, expires, t] */
const CASES = [
    ['presign', AWS_DOC, AWS, 'GET', 'test.txt', null, -1, 86400, T2013],
    ['presign', AWS_DOC, AWS, 'PUT', '1/abc_x.jpg', 'image/jpeg', 245000,
     1800, T2026],
    ['presign', AWS_DOC, AWS_EU, 'PUT', '42/0f0f_living room (2).heic',
     'image/heic', 1, 604800, T2026_END],
    ['presign', R2_LIKE, R2, 'PUT', 'unicode/caf\u00e9/\u65e5\u672c\u8a9e.png',
     'image/png', 5368709120, 1, T2000_LEAP],
    ['presign', MINIO, LOCAL, 'PUT',
     "special/a+b=c&d;e,f@g$h!'()*~%20?#[].txt", 'image/webp', 0, 900,
     T2026],
    ['presign', MINIO, LOCAL_VH, 'PUT', 'dir//double/.hidden/../x y',
     'text/plain; charset=utf-8', 12, 3600, T2026],
    ['presign', AWS_DOC, LOCAL, 'PUT', '7/emoji \u{1F3E0}.avif',
     'image/avif', 99, 1800, T2026],
    ['presign', AWS_DOC, AWS, 'GET', 'a/b c.jpg', null, -1, 60, T2026],
    ['authorize', AWS_DOC, AWS, 'HEAD', '1/abc_x.jpg', null, -1, 0, T2026],
    ['authorize', MINIO, LOCAL, 'DELETE', 'unicode/caf\u00e9 x+y.png', null,
     -1, 0, T2026_END],
    ['authorize', R2_LIKE, R2, 'GET', 'a/b.jpg', null, -1, 0, T2000_LEAP],
];


function client(creds, store) {
    const [region, scheme, endpoint, , pathStyle] = store;

    return new S3Client({
        region,
        endpoint: `${scheme}://${endpoint}`,
        forcePathStyle: !!pathStyle,
        credentials: { accessKeyId: creds[0], secretAccessKey: creds[1] },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 1,
        requestHandler: {
            /* header-signed requests are captured, never sent */
            handle: async (request) => {
                captured = request;
                return { response: { statusCode: 204, headers: {} } };
            },
        },
    });
}

let captured;


function command(method, bucket, key, ctype, length) {
    const input = { Bucket: bucket, Key: key };

    if (ctype !== null) {
        input.ContentType = ctype;
    }
    if (length >= 0) {
        input.ContentLength = length;
    }

    const cmd = new ({
        PUT: PutObjectCommand, GET: GetObjectCommand,
        HEAD: HeadObjectCommand, DELETE: DeleteObjectCommand,
    })[method](input);

    cmd.middlewareStack.add((next) => async (args) => {
        delete args.request.query['x-id'];
        return next(args);
    }, { step: 'build', name: 'dropXId' });

    return cmd;
}


function signatureLast(url) {
    const m = url.match(/&X-Amz-Signature=([0-9a-f]{64})/);

    return url.replace(m[0], '') + m[0];
}


async function presign(c, cmd, expires, t) {
    const signed = new Set(['content-type', 'content-length']);

    return signatureLast(await getSignedUrl(c, cmd, {
        expiresIn: expires,
        signingDate: new Date(t * 1000),
        signableHeaders: signed,
        unhoistableHeaders: new Set(signed),
    }));
}


/* the S3 client's own signing, at a fixed time */
async function authorize(c, cmd, t) {
    const now = Date.now;

    c.middlewareStack.addRelativeTo((next) => async (args) => {
        delete args.request.headers['amz-sdk-invocation-id'];
        delete args.request.headers['amz-sdk-request'];
        delete args.request.headers['x-amz-user-agent'];
        delete args.request.headers['user-agent'];
        return next(args);
    }, { relation: 'before', toMiddleware: 'awsAuthMiddleware',
         name: 'dropSdkHeaders' });

    Date.now = () => t * 1000;
    try {
        await c.send(cmd);
    } catch (e) {
        /* the canned response may not parse; the request was captured */
    } finally {
        Date.now = now;
    }

    const r = captured;
    const port = r.port ? `:${r.port}` : '';

    return [`${r.protocol}//${r.hostname}${port}${r.path}`,
            r.headers.authorization];
}


async function main() {
    for (const [kind, creds, store, method, key, ctype, length, expires, t]
         of CASES)
    {
        const c = client(creds, store);
        const cmd = command(method, store[3], key, ctype, length);
        const out = kind === 'presign'
            ? [await presign(c, cmd, expires, t), '-']
            : await authorize(c, cmd, t);

        console.log([kind, creds[0], creds[1], ...store, method, key,
                     ctype === null ? '-' : ctype, length, expires, t,
                     ...out].join('\t'));
    }
}

main().catch((e) => { console.error(e); process.exit(1); });
