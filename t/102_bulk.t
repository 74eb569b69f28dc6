# POST /api/v1/media/bulk with every operation: upload-from-url,
# confirm-upload (a real signed upload), link, unlink, delete by mediaId and
# by externalId; a mix in one request where failing operations do not stop
# the others; the result and summary shapes; the whole-request errors (too
# many operations, not an array, unknown op, missing fields), which must
# leave everything as it was.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;
use RentixTest;

my $t = MediaTest->start;
my $J = JSON::PP->new->canonical;
my $jpeg = make_image($t, 'bulk.jpg', 64, 48);

my %m;
$m{$_} = $t->upload(content => $jpeg, name => "$_.jpg")->{media_id}
    for qw(plain1 plain5 del3);
$m{ext2} = $t->upload(content => $jpeg, name => 'ext2.jpg',
                      external_id => 'bulk-ext-2')->{media_id};
$m{del4} = $t->upload(content => $jpeg, name => 'del4.jpg',
                      external_id => 'bulk-del-4')->{media_id};
my $conf = $t->upload(content => $jpeg, name => 'conf.jpg', no_confirm => 1);

var(m1 => $m{plain1}, m2 => $m{ext2}, m3 => $m{del3}, m4 => $m{del4},
    m5 => $m{plain5}, conf_uuid => $conf->{uuid}, conf_name => $conf->{name},
    conf_size => length $jpeg, ext_256 => 'x' x 256,
    url1 => 'http://127.0.0.1:9/bulk-1.jpg');

sub ops_json { $J->encode({ operations => [@_] }) }
my @del = map { { op => 'delete', mediaId => 900000 + $_ } } 1 .. 101;
var(ops_101 => ops_json(@del), ops_100 => ops_json(@del[0 .. 99]));

my $store_before = $t->psql('SELECT count(*) FROM media');
run_blocks();

# The whole-request errors (TESTS 6 and after) wrote nothing.
is($t->psql("SELECT count(*) FROM media WHERE external_id LIKE 'bulk-never%'"),
   0, 'refused requests linked or created nothing');
is($t->psql("SELECT external_id IS NULL FROM media WHERE id = $m{plain5}"), 't',
   'the link in a refused request did not run');
is($t->psql("SELECT count(*) FROM media WHERE id = $m{plain5}"), 1,
   'the delete in a refused request did not run');
is($t->psql("SELECT count(*) FROM media WHERE source_url LIKE '%never%'"), 0,
   'the import in a refused request did not run');

# The mix (TEST 1): state after it.
is($t->psql("SELECT count(*) FROM media WHERE id IN ($m{del3}, $m{del4})"), 0,
   'both deleted files are gone');
is($t->psql("SELECT count(*) FROM media WHERE external_id = 'bulk-link-1'"), 1,
   'the duplicate upload-from-url made no second file');
is($t->psql("SELECT count(*) FROM jobs j JOIN media m ON m.id = j.media_id "
            . "WHERE m.external_id = 'bulk-url-1' AND j.kind = 'import'"), 1,
   'upload-from-url in bulk queued one import job');

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: every operation in one request; failures do not stop the others
--- request
POST /api/v1/media/bulk
{"operations": [
  {"op": "upload-from-url", "url": "$url1", "externalId": "bulk-url-1"},
  {"op": "confirm-upload", "uuid": "$conf_uuid", "generatedFileName": "$conf_name", "externalId": "bulk-conf-1"},
  {"op": "link", "mediaId": $m1, "externalId": "bulk-link-1"},
  {"op": "unlink", "mediaId": $m2},
  {"op": "delete", "mediaId": $m3},
  {"op": "delete", "externalId": "bulk-del-4"},
  {"op": "upload-from-url", "url": "http://127.0.0.1:9/other.jpg", "externalId": "bulk-link-1"},
  {"op": "link", "mediaId": 999999, "externalId": "bulk-nowhere"},
  {"op": "delete", "mediaId": $m3},
  {"op": "link", "mediaId": $m2, "externalId": "bulk-link-1"},
  {"op": "confirm-upload", "uuid": "$conf_uuid", "generatedFileName": "${conf_uuid}_missing.jpg"},
  {"op": "delete", "externalId": "bulk-no-such"},
  {"op": "unlink", "mediaId": $m2}
]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [
  {"op": "upload-from-url", "externalId": "bulk-url-1", "mediaId": "*number", "success": true, "...": "*"},
  {"op": "confirm-upload", "uuid": "$conf_uuid", "generatedFileName": "$conf_name", "externalId": "bulk-conf-1", "mediaId": "*number", "success": true},
  {"op": "link", "externalId": "bulk-link-1", "mediaId": $m1, "success": true},
  {"op": "unlink", "externalId": "bulk-ext-2", "mediaId": $m2, "success": true},
  {"op": "delete", "externalId": null, "mediaId": $m3, "success": true},
  {"op": "delete", "externalId": "bulk-del-4", "mediaId": $m4, "success": true},
  {"op": "upload-from-url", "externalId": "bulk-link-1", "mediaId": null, "success": false, "...": "*",
   "error": {"statusCode": 400, "body": {"error": "Duplicate external ID", "error_code": "DUPLICATE_EXTERNAL_ID"}}},
  {"op": "link", "externalId": "bulk-nowhere", "mediaId": 999999, "success": false,
   "error": {"statusCode": 404, "body": {"error": "File not found", "error_code": "FILE_NOT_FOUND"}}},
  {"op": "delete", "externalId": null, "mediaId": $m3, "success": false,
   "error": {"statusCode": 404, "body": {"error": "File not found", "error_code": "FILE_NOT_FOUND"}}},
  {"op": "link", "externalId": "bulk-link-1", "mediaId": $m2, "success": false,
   "error": {"statusCode": 409, "body": {"error": "External ID already linked", "error_code": "EXTERNAL_ID_ALREADY_LINKED"}}},
  {"op": "confirm-upload", "uuid": "$conf_uuid", "generatedFileName": "${conf_uuid}_missing.jpg", "externalId": null, "mediaId": null, "success": false,
   "error": {"statusCode": 404, "body": {"error": "*string", "error_code": "UPLOAD_NOT_FOUND"}}},
  {"op": "delete", "externalId": "bulk-no-such", "mediaId": null, "success": false,
   "error": {"statusCode": 404, "body": {"error": "File not found", "error_code": "FILE_NOT_FOUND"}}},
  {"op": "unlink", "externalId": null, "mediaId": $m2, "success": false,
   "error": {"statusCode": 409, "body": {"error": "*string", "error_code": "FILE_HAS_NO_EXTERNAL_ID"}}}
 ],
 "summary": {"total": 13, "succeeded": 6, "failed": 7}}
--- response_body_like
"op":"upload-from-url"(,"url":"[^"]*")?,"externalId":"bulk-link-1","mediaId":null(,"jobId":[^,]*)?,"success":false,"error":\{"statusCode":400,"body":\{"error":"Duplicate external ID","error_code":"DUPLICATE_EXTERNAL_ID"\}\}\}.*"summary":\{"total":13,"succeeded":6,"failed":7\}\}$
--- set
url1_id = results.0.mediaId
conf_id = results.1.mediaId

=== TEST 2: the confirmed upload is a file with its externalId and real size
--- request
GET /api/v1/media/external/bulk-conf-1
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $conf_id, "externalId": "bulk-conf-1", "size": $conf_size, "contentType": "image/jpeg",
 "optimization": "*string", "blurhash": "*", "originalUrl": "*string", "variants": "*array"}

=== TEST 3: the linked file has its new externalId
--- request
GET /api/v1/media/external/bulk-link-1
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $m1, "externalId": "bulk-link-1", "...": "*"}

=== TEST 4: the unlinked file has none, and its old id finds nothing
--- request
GET /api/v1/media/external/bulk-ext-2
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 5: the deleted file is gone
--- request
GET /api/v1/media/$m3
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 6: the file deleted by externalId is gone
--- request
GET /api/v1/media/$m4
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 7: upload-from-url in bulk, as in the documentation
--- request
POST /api/v1/media/bulk
{"operations": [
  {"op": "upload-from-url", "url": "http://127.0.0.1:9/p1.jpg", "externalId": "bulk-doc-1"},
  {"op": "upload-from-url", "url": "http://127.0.0.1:9/p2.jpg", "externalId": "bulk-doc-2"}
]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [
  {"op": "upload-from-url", "externalId": "bulk-doc-1", "mediaId": "*number", "success": true, "...": "*"},
  {"op": "upload-from-url", "externalId": "bulk-doc-2", "mediaId": "*number", "success": true, "...": "*"}
 ],
 "summary": {"total": 2, "succeeded": 2, "failed": 0}}
--- set
doc1 = results.0.mediaId

=== TEST 8: retrying that upload-from-url returns the same file
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "upload-from-url", "url": "http://127.0.0.1:9/p1.jpg", "externalId": "bulk-doc-1"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [{"op": "upload-from-url", "externalId": "bulk-doc-1", "mediaId": $doc1, "success": true, "...": "*"}],
 "summary": {"total": 1, "succeeded": 1, "failed": 0}}

=== TEST 9: linking the id a file already has succeeds
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "link", "mediaId": $m1, "externalId": "bulk-link-1"},
                {"op": "link", "mediaId": $m1, "externalId": "bulk-link-other"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [
  {"op": "link", "externalId": "bulk-link-1", "mediaId": $m1, "success": true},
  {"op": "link", "externalId": "bulk-link-other", "mediaId": $m1, "success": false,
   "error": {"statusCode": 409, "body": {"error": "File already has external ID", "error_code": "FILE_ALREADY_HAS_EXTERNAL_ID"}}}
 ],
 "summary": {"total": 2, "succeeded": 1, "failed": 1}}

=== TEST 10: 100 operations are allowed
--- request
POST /api/v1/media/bulk
$ops_100
--- more_headers
Authorization: ApiKey $key
--- response_body_like
"summary":\{"total":100,"succeeded":0,"failed":100\}\}$

=== TEST 11: 101 operations are too many
--- request
POST /api/v1/media/bulk
$ops_101
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "TOO_MANY_OPERATIONS"}

=== TEST 12: operations is not an array
--- request
POST /api/v1/media/bulk
{"operations": {"op": "delete", "mediaId": $m5}}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 13: operations is empty
--- request
POST /api/v1/media/bulk
{"operations": []}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 14: operations missing
--- request
POST /api/v1/media/bulk
{"ops": [{"op": "delete", "mediaId": $m5}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 15: an unknown op refuses the whole request (the valid link before it does not run)
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "link", "mediaId": $m5, "externalId": "bulk-never-1"},
                {"op": "copy", "mediaId": $m5}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~copy", "error_code": "VALIDATION_ERROR"}

=== TEST 16: an operation without op
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": $m5}, {"mediaId": $m5}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~op", "error_code": "VALIDATION_ERROR"}

=== TEST 17: an operation that is not an object
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": $m5}, "delete"]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 18: upload-from-url without url
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "link", "mediaId": $m5, "externalId": "bulk-never-2"},
                {"op": "upload-from-url", "externalId": "bulk-never-3"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~url", "error_code": "VALIDATION_ERROR"}

=== TEST 19: upload-from-url with an ftp:// url
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "link", "mediaId": $m5, "externalId": "bulk-never-4"},
                {"op": "upload-from-url", "url": "ftp://127.0.0.1/never.jpg", "externalId": "bulk-never-5"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_URL"}

=== TEST 20: confirm-upload without uuid
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": $m5},
                {"op": "confirm-upload", "generatedFileName": "$conf_name"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~uuid", "error_code": "VALIDATION_ERROR"}

=== TEST 21: confirm-upload without generatedFileName
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$conf_uuid"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~generatedFileName", "error_code": "VALIDATION_ERROR"}

=== TEST 22: link without externalId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": $m5}, {"op": "link", "mediaId": $m5}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 23: link without mediaId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "link", "externalId": "bulk-never-6"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~mediaId", "error_code": "VALIDATION_ERROR"}

=== TEST 24: link with mediaId as a string
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "link", "mediaId": "$m5", "externalId": "bulk-never-7"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~mediaId", "error_code": "VALIDATION_ERROR"}

=== TEST 25: link with an externalId of 256 characters
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "link", "mediaId": $m5, "externalId": "$ext_256"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 26: link with an externalId that is a number
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "link", "mediaId": $m5, "externalId": 7}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 27: unlink without mediaId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": $m5}, {"op": "unlink"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~mediaId", "error_code": "VALIDATION_ERROR"}

=== TEST 28: delete with neither mediaId nor externalId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": $m5}, {"op": "delete"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 29: delete with mediaId 0
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": 0}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 30: delete with a negative mediaId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": -3}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 31: delete with a fractional mediaId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": 1.5}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 32: op is not a string
--- request
POST /api/v1/media/bulk
{"operations": [{"op": 1, "mediaId": $m5}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 33: malformed JSON
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": $m5}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_JSON"}

=== TEST 34: a mediaId too large for any integer
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "delete", "mediaId": 99999999999999999999999}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "~^(VALIDATION_ERROR|INVALID_JSON)$"}

=== TEST 35: the file the refused requests named is untouched
--- request
GET /api/v1/media/$m5
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $m5, "externalId": null, "...": "*"}
