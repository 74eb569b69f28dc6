# POST /api/v1/media/upload-from-url: the documented response (keys in
# order), idempotent retry of the same request, DUPLICATE_EXTERNAL_ID for
# the same externalId with another URL, URL and externalId validation, and
# the import itself: the worker fetches from a file server this test runs on
# 127.0.0.1 (allowed with import_allow => 127.0.0.1/32) and optimizes it.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentixTest;

my $t = MediaTest->start(import_allow => '127.0.0.1/32');
my $fs = RentixTest::FileServer->start($t->dir . '/files');

my $jpeg = make_image($t, 'photo.jpg', 640, 480);
$fs->put('photo.jpg', $jpeg, 'image/jpeg');
# content is identified by its bytes: a JPEG sent as text/plain
$fs->put('mislabelled.bin', $jpeg, 'text/plain');
# and text sent as image/jpeg is not an image
$fs->put('not-an-image.jpg', "this is not an image\n" x 20, 'image/jpeg');

var(photo_url => $fs->url('photo.jpg'),
    other_url => $fs->url('mislabelled.bin'),
    text_url  => $fs->url('not-an-image.jpg'),
    missing_url => $fs->url('missing.jpg'),
    never_url => $fs->url('never.jpg'),
    url_2048 => $fs->url('long?q=') . ('a' x (2048 - length $fs->url('long?q='))),
    url_2049 => $fs->url('long?q=') . ('a' x (2049 - length $fs->url('long?q='))),
    ext_255 => 'e' x 255, ext_256 => 'e' x 256);

run_blocks();

my %id = map { $_ => $MediaTest::VARS{$_} } qw(u1_id u1_job mis_id txt_id miss_id);

is($t->psql("SELECT count(*) FROM media WHERE external_id = 'url-1'"), 1,
   'the retried request made one media row');
is($t->psql("SELECT count(*) FROM jobs WHERE media_id = $id{u1_id} AND kind = 'import'"),
   1, '... and one import job');
# a refused request writes nothing (no media row, no import job)
is($t->psql("SELECT count(*) FROM media WHERE external_id LIKE 'url-bad-%' "
            . "OR external_id = 'url-noauth' OR source_url NOT LIKE 'http://127.0.0.1:%' "
            . "OR source_url LIKE '%a b.jpg'"),
   0, 'the refused requests (TESTS 12-26, 31) made no media row');
is($t->psql('SELECT count(*) FROM media'), 7,
   'media rows: exactly the 7 accepted imports');
is($t->psql("SELECT count(*) FROM jobs WHERE kind = 'import'"), 7,
   'import jobs: exactly one per accepted import');
is($t->psql("SELECT source_url FROM media WHERE id = $id{u1_id}"),
   $fs->url('photo.jpg'), 'the media row remembers its source URL');

# --- the import by the worker ------------------------------------------
{
    my $m = $t->wait_optimized($id{u1_id}, timeout => 60);
    is($m->{optimization}, 'success', 'imported JPEG: optimization success')
        or diag explain $m;
    is($m->{contentType}, 'image/jpeg', '... contentType image/jpeg');
    is($m->{size}, length $jpeg, '... size is the real size');
    is($m->{externalId}, 'url-1', '... externalId kept');
    like($m->{blurhash} // '', qr/^[0-9A-Za-z#\$%*+,\-.:;=?@\[\]^_{|}~]{6,}$/,
         '... a BlurHash');
    ok(ref $m->{variants} eq 'ARRAY' && @{ $m->{variants} } >= 1,
       '... variants');
    is($fs->hits('photo.jpg'), 1, 'the file was fetched once (the retry did not import again)');

    my $key = $t->psql("SELECT object_key FROM media WHERE id = $id{u1_id}");
    is(-s store_file($t, $key), length $jpeg, 'the original is in the store');
    my $orig = $t->http(GET => $m->{originalUrl} // '/');
    ok($orig->{status} == 200 && $orig->{content} eq $jpeg,
       'the originalUrl serves the imported bytes')
        or diag("$orig->{status} for " . ($m->{originalUrl} // 'undef'));

    # a retry after the import: still the same file and job, no new fetch
    my $again = $t->api(POST => '/api/v1/media/upload-from-url',
                        { url => $fs->url('photo.jpg'), externalId => 'url-1' });
    is($again->{status}, 200, 'retry after the import: 200');
    is($again->{json}{mediaId}, $id{u1_id}, '... same mediaId');
    is($again->{json}{jobId}, $id{u1_job}, '... same jobId')
        or diag($again->{content});
    is($again->{json}{status}, 'success', '... status is the file\'s status');
    is($fs->hits('photo.jpg'), 1, '... and no second fetch');

    $m = $t->wait_optimized($id{mis_id}, timeout => 60);
    is($m->{optimization}, 'success', 'a JPEG served as text/plain: success');
    is($m->{contentType}, 'image/jpeg', '... contentType from the bytes');

    $m = $t->wait_optimized($id{txt_id}, timeout => 60);
    is($m->{optimization}, 'failed', 'text served as image/jpeg: failed')
        or diag explain $m;

    $m = $t->wait_optimized($id{miss_id}, timeout => 90);
    is($m->{optimization}, 'failed', 'a URL answering 404: failed')
        or diag explain $m;
}

# by now the worker has run every job queued above
is($fs->hits('never.jpg'), 0, 'the refused requests (TESTS 12-31) fetched nothing');

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: import by URL: the documented response, keys in order
--- request
POST /api/v1/media/upload-from-url
{"url": "$photo_url", "externalId": "url-1"}
--- more_headers
Authorization: ApiKey $key
--- response_body_like
^\{"mediaId":\d+,"status":"pending","externalId":"url-1","jobId":\d+\}$
--- set
u1_id = mediaId
u1_job = jobId

=== TEST 2: the same request again returns the same file and job
--- request
POST /api/v1/media/upload-from-url
{"url": "$photo_url", "externalId": "url-1"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": $u1_id, "status": "*string", "externalId": "url-1", "jobId": $u1_job}

=== TEST 3: the same externalId with another URL is a duplicate
--- request
POST /api/v1/media/upload-from-url
{"url": "$other_url", "externalId": "url-1"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Duplicate external ID", "error_code": "DUPLICATE_EXTERNAL_ID"}

=== TEST 4: GET the imported file: the documented structure
--- request
GET /api/v1/media/$u1_id
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $u1_id, "externalId": "url-1", "size": "*", "contentType": "*string",
 "optimization": "~^(pending|in_progress|success|failed)$", "blurhash": "*",
 "originalUrl": "*string", "variants": "*array"}

=== TEST 5: GET it by its external id
--- request
GET /api/v1/media/external/url-1
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $u1_id, "externalId": "url-1", "...": "*"}

=== TEST 6: a mislabelled JPEG (served as text/plain)
--- request
POST /api/v1/media/upload-from-url
{"url": "$other_url", "externalId": "url-mislabelled"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": "*number", "status": "pending", "externalId": "url-mislabelled", "jobId": "*number"}
--- set
mis_id = mediaId

=== TEST 7: a text file served as image/jpeg
--- request
POST /api/v1/media/upload-from-url
{"url": "$text_url", "externalId": "url-text"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": "*number", "status": "pending", "externalId": "url-text", "jobId": "*number"}
--- set
txt_id = mediaId

=== TEST 8: without externalId: externalId null
--- request
POST /api/v1/media/upload-from-url
{"url": "$missing_url"}
--- more_headers
Authorization: ApiKey $key
--- response_body_like
^\{"mediaId":\d+,"status":"pending","externalId":null,"jobId":\d+\}$
--- set
miss_id = mediaId

=== TEST 9: externalId null is the same as absent
--- request
POST /api/v1/media/upload-from-url
{"url": "$missing_url", "externalId": null}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": "*number", "status": "pending", "externalId": null, "jobId": "*number"}

=== TEST 10: a URL of exactly 2048 characters is accepted
--- request
POST /api/v1/media/upload-from-url
{"url": "$url_2048", "externalId": "url-2048"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": "*number", "status": "pending", "externalId": "url-2048", "jobId": "*number"}

=== TEST 11: an externalId of 255 characters is accepted
--- request
POST /api/v1/media/upload-from-url
{"url": "$missing_url", "externalId": "$ext_255"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": "*number", "status": "pending", "externalId": "$ext_255", "jobId": "*number"}

=== TEST 12: ftp:// is not an import URL
--- request
POST /api/v1/media/upload-from-url
{"url": "ftp://127.0.0.1/photo.jpg", "externalId": "url-bad-1"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~url", "error_code": "INVALID_URL"}

=== TEST 13: a URL without a host
--- request
POST /api/v1/media/upload-from-url
{"url": "http:///photo.jpg", "externalId": "url-bad-2"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_URL"}

=== TEST 14: just the scheme
--- request
POST /api/v1/media/upload-from-url
{"url": "https://", "externalId": "url-bad-3"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_URL"}

=== TEST 15: not a URL at all
--- request
POST /api/v1/media/upload-from-url
{"url": "photo.jpg", "externalId": "url-bad-4"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_URL"}

=== TEST 16: a URL with a space
--- request
POST /api/v1/media/upload-from-url
{"url": "http://127.0.0.1/a b.jpg", "externalId": "url-bad-5"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_URL"}

=== TEST 17: a URL of 2049 characters
--- request
POST /api/v1/media/upload-from-url
{"url": "$url_2049", "externalId": "url-bad-6"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~url", "error_code": "VALIDATION_ERROR"}

=== TEST 18: url is not a string
--- request
POST /api/v1/media/upload-from-url
{"url": 12345, "externalId": "url-bad-7"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "url must be a string", "error_code": "VALIDATION_ERROR"}

=== TEST 19: url is an array
--- request
POST /api/v1/media/upload-from-url
{"url": ["$never_url"], "externalId": "url-bad-8"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "url must be a string", "error_code": "VALIDATION_ERROR"}

=== TEST 20: url missing
--- request
POST /api/v1/media/upload-from-url
{"externalId": "url-bad-9"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "url is required", "error_code": "VALIDATION_ERROR"}

=== TEST 21: url null
--- request
POST /api/v1/media/upload-from-url
{"url": null, "externalId": "url-bad-null"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "url is required", "error_code": "VALIDATION_ERROR"}

=== TEST 22: externalId of 256 characters
--- request
POST /api/v1/media/upload-from-url
{"url": "$never_url", "externalId": "url-bad-$ext_256"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 23: externalId is a number
--- request
POST /api/v1/media/upload-from-url
{"url": "$never_url", "externalId": 42, "note": "url-bad-num"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "externalId must be a string", "error_code": "VALIDATION_ERROR"}

=== TEST 24: externalId empty
--- request
POST /api/v1/media/upload-from-url
{"url": "$never_url", "externalId": ""}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 25: externalId with NUL
--- request
POST /api/v1/media/upload-from-url
{"url": "$never_url", "externalId": "url-bad-a\u0000b"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "~^(VALIDATION_ERROR|INVALID_JSON)$"}

=== TEST 26: url with NUL
--- request
POST /api/v1/media/upload-from-url
{"url": "http://127.0.0.1/a\u0000.jpg", "externalId": "url-bad-nul"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "~^(VALIDATION_ERROR|INVALID_URL|INVALID_JSON)$"}

=== TEST 27: malformed JSON
--- request
POST /api/v1/media/upload-from-url
{"url": "$never_url", "externalId": "x"
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_JSON"}

=== TEST 28: a JSON array instead of an object
--- request
POST /api/v1/media/upload-from-url
[{"url": "$never_url"}]
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 29: no body
--- request
POST /api/v1/media/upload-from-url
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_JSON"}

=== TEST 30: GET is not allowed on upload-from-url
--- request
GET /api/v1/media/upload-from-url
--- more_headers
Authorization: ApiKey $key
--- error_code: 405
--- response_body_json
{"error": "Method not allowed", "error_code": "METHOD_NOT_ALLOWED"}

=== TEST 31: no API key
--- request
POST /api/v1/media/upload-from-url
{"url": "$never_url", "externalId": "url-noauth"}
--- error_code: 401
--- response_body_json
{"error": "*string", "error_code": "*string"}
