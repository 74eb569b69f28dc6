# POST /api/v1/media/bulk with confirm-upload, and GET /api/v1/media/:id:
# result and summary shapes, per-operation errors, idempotent confirm,
# duplicate external ids, tenant isolation, id validation.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;

my $t = MediaTest->start;
my $J = JSON::PP->new->canonical;

my %up;
for my $name (qw(a b c d e)) {
    $up{$name} = $t->upload(content => "content of $name " x 10,
                            name => "$name.jpg", no_confirm => 1);
}
$up{o} = $t->upload(content => 'other tenant', name => 'o.jpg',
                    key => $t->other_key, no_confirm => 1);
var(map { ("${_}_uuid" => $up{$_}{uuid}, "${_}_name" => $up{$_}{name}) }
    keys %up);
var(a_size => length("content of a " x 10));

my @ops = map { { op => 'confirm-upload', uuid => $up{a}{uuid},
                  generatedFileName => "$up{a}{uuid}_missing$_.jpg" } }
          1 .. 101;
var(ops_101 => $J->encode({ operations => \@ops }));
pop @ops;
var(ops_100 => $J->encode({ operations => \@ops }));

run_blocks();

sub media_rows {
    my $up = shift;
    return $t->psql("SELECT count(*) FROM media WHERE object_key = '"
                    . $t->tenant . "/$up->{name}'");
}
is(media_rows($up{d}), 0, 'the refused confirm-upload (TEST 27) wrote no row');

my $a_id = $MediaTest::VARS{a_id} // 0;
is(media_rows($up{a}), 1, 'confirming twice made one media row');
is($t->psql("SELECT count(*) || ' ' || min(kind) FROM jobs WHERE media_id = $a_id"),
   '1 optimize', 'and one optimize job');

# An id too large for any integer type is a client error, not a 500.
my $res = $t->api(GET => '/api/v1/media/99999999999999999999999');
like($res->{status}, qr/^4\d\d$/, 'an overflowing id is a 4xx')
    or diag($res->{content});
is($res->{json}{error_code}, 'INVALID_ID', 'an overflowing id: INVALID_ID');

# An overlong externalId in a confirm is a 400 (for the request or for the
# operation), never a 500 and never a half-written row.
$res = $t->confirm($up{e}, external_id => 'x' x 256);
my $r = $res->{json}{results}[0] // {};
ok($res->{status} == 400 && $res->{json}{error_code} eq 'VALIDATION_ERROR'
   || $res->{status} == 200 && !$r->{success}
      && $r->{error}{statusCode} == 400,
   'externalId of 256 characters in confirm-upload: 400')
    or diag("$res->{status} $res->{content}");
is(media_rows($up{e}), 0, '... and no media row');

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: confirm an upload with an externalId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$a_uuid", "generatedFileName": "$a_name", "externalId": "ext-a"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [{"op": "confirm-upload", "uuid": "$a_uuid", "generatedFileName": "$a_name",
              "externalId": "ext-a", "mediaId": "*number", "success": true}],
 "summary": {"total": 1, "succeeded": 1, "failed": 0}}
--- set
a_id = results.0.mediaId

=== TEST 2: confirming the same upload again returns the same mediaId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$a_uuid", "generatedFileName": "$a_name", "externalId": "ext-a"}]}
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"results": [{"op": "confirm-upload", "uuid": "$a_uuid", "generatedFileName": "$a_name",
              "externalId": "ext-a", "mediaId": $a_id, "success": true}],
 "summary": {"total": 1, "succeeded": 1, "failed": 0}}

=== TEST 3: confirm without an externalId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$b_uuid", "generatedFileName": "$b_name"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [{"op": "confirm-upload", "uuid": "$b_uuid", "generatedFileName": "$b_name",
              "externalId": null, "mediaId": "*number", "success": true}],
 "summary": {"total": 1, "succeeded": 1, "failed": 0}}
--- set
b_id = results.0.mediaId

=== TEST 4: duplicate externalId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$c_uuid", "generatedFileName": "$c_name", "externalId": "ext-a"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [{"op": "confirm-upload", "uuid": "$c_uuid", "generatedFileName": "$c_name",
              "externalId": "ext-a", "mediaId": null, "success": false,
              "error": {"statusCode": 400,
                        "body": {"error": "Duplicate external ID", "error_code": "DUPLICATE_EXTERNAL_ID"}}}],
 "summary": {"total": 1, "succeeded": 0, "failed": 1}}

=== TEST 5: an upload that never happened
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$a_uuid", "generatedFileName": "${a_uuid}_never.jpg"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [{"op": "confirm-upload", "uuid": "$a_uuid", "generatedFileName": "${a_uuid}_never.jpg",
              "externalId": null, "mediaId": null, "success": false,
              "error": {"statusCode": 404,
                        "body": {"error": "Upload not found", "error_code": "UPLOAD_NOT_FOUND"}}}],
 "summary": {"total": 1, "succeeded": 0, "failed": 1}}

=== TEST 6: one good and one failing operation: both run, in order
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$a_uuid", "generatedFileName": "${a_uuid}_never.jpg"},
                {"op": "confirm-upload", "uuid": "$c_uuid", "generatedFileName": "$c_name", "externalId": "ext-c"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": [{"op": "confirm-upload", "uuid": "$a_uuid", "generatedFileName": "${a_uuid}_never.jpg",
              "externalId": null, "mediaId": null, "success": false,
              "error": {"statusCode": 404,
                        "body": {"error": "Upload not found", "error_code": "UPLOAD_NOT_FOUND"}}},
             {"op": "confirm-upload", "uuid": "$c_uuid", "generatedFileName": "$c_name",
              "externalId": "ext-c", "mediaId": "*number", "success": true}],
 "summary": {"total": 2, "succeeded": 1, "failed": 1}}

=== TEST 7: another tenant cannot confirm my upload
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$d_uuid", "generatedFileName": "$d_name"}]}
--- more_headers
Authorization: ApiKey $other_key
--- response_body_json
{"results": [{"op": "confirm-upload", "uuid": "$d_uuid", "generatedFileName": "$d_name",
              "externalId": null, "mediaId": null, "success": false,
              "error": {"statusCode": 404,
                        "body": {"error": "Upload not found", "error_code": "UPLOAD_NOT_FOUND"}}}],
 "summary": {"total": 1, "succeeded": 0, "failed": 1}}

=== TEST 8: the other tenant confirms its own upload, with my externalId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$o_uuid", "generatedFileName": "$o_name", "externalId": "ext-a"}]}
--- more_headers
Authorization: ApiKey $other_key
--- response_body_json
{"results": [{"op": "confirm-upload", "uuid": "$o_uuid", "generatedFileName": "$o_name",
              "externalId": "ext-a", "mediaId": "*number", "success": true}],
 "summary": {"total": 1, "succeeded": 1, "failed": 0}}
--- set
o_id = results.0.mediaId

=== TEST 9: GET the media file: exactly the documented structure
--- request
GET /api/v1/media/$a_id
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $a_id, "externalId": "ext-a", "size": $a_size, "contentType": "image/jpeg",
 "optimization": "~^(pending|in_progress|success|failed)$",
 "blurhash": "*", "originalUrl": "$base/files/$tenant/$a_name", "variants": "*array"}
--- response_headers
Content-Type: ~^application/json

=== TEST 10: GET a media file without externalId
--- request
GET /api/v1/media/$b_id
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $b_id, "externalId": null, "size": "*number", "contentType": "image/jpeg",
 "optimization": "*string", "blurhash": "*", "originalUrl": "$base/files/$tenant/$b_name",
 "variants": "*array"}

=== TEST 11: another tenant's id is not found
--- request
GET /api/v1/media/$o_id
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 12: my id with the other tenant's key is not found
--- request
GET /api/v1/media/$a_id
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 13: unknown id
--- request
GET /api/v1/media/987654321
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 14: non-numeric id
--- request
GET /api/v1/media/abc
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_ID"}

=== TEST 15: id with trailing garbage
--- request
GET /api/v1/media/12abc
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_ID"}

=== TEST 16: decimal id
--- request
GET /api/v1/media/1.5
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_ID"}

=== TEST 17: 101 operations
--- request
POST /api/v1/media/bulk
$ops_101
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "TOO_MANY_OPERATIONS"}

=== TEST 18: 100 operations are fine (all failing here)
--- request
POST /api/v1/media/bulk
$ops_100
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"results": "*array", "summary": {"total": 100, "succeeded": 0, "failed": 100}}

=== TEST 19: malformed JSON
--- request
POST /api/v1/media/bulk
{"operations": [
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~^Malformed JSON body: .+", "error_code": "INVALID_JSON"}

=== TEST 20: operations missing
--- request
POST /api/v1/media/bulk
{}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 21: operations not an array
--- request
POST /api/v1/media/bulk
{"operations": {"op": "confirm-upload"}}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 22: an operation that is not an object
--- request
POST /api/v1/media/bulk
{"operations": [42]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 23: op missing
--- request
POST /api/v1/media/bulk
{"operations": [{"uuid": "$a_uuid", "generatedFileName": "$a_name"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 24: confirm-upload without uuid
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "generatedFileName": "$a_name"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 25: confirm-upload without generatedFileName
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$a_uuid"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 26: confirm-upload with a numeric uuid
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": 12, "generatedFileName": "$a_name"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 27: confirm-upload with a numeric externalId
--- request
POST /api/v1/media/bulk
{"operations": [{"op": "confirm-upload", "uuid": "$d_uuid", "generatedFileName": "$d_name", "externalId": 7}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}
