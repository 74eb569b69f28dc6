# POST / DELETE /api/v1/media/:id/link and GET /api/v1/media/external/:id:
# the documented bodies and errors ("External ID already linked",
# "File already has external ID", "File not found"), linking the same id
# again, unlinking twice, re-using a freed id, ids with characters that need
# URL encoding, and input validation.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentixTest;

my $t = MediaTest->start;
my $jpeg = make_image($t, 'ext.jpg', 32, 32);

var(a => $t->upload(content => $jpeg, name => 'a.jpg')->{media_id},
    b => $t->upload(content => $jpeg, name => 'b.jpg',
                    external_id => 'ext-b')->{media_id},
    c => $t->upload(content => $jpeg, name => 'c.jpg')->{media_id},
    d => $t->upload(content => $jpeg, name => 'd.jpg')->{media_id},
    e => $t->upload(content => $jpeg, name => 'e.jpg')->{media_id},
    ext_255 => 'x' x 255, ext_256 => 'x' x 256);

run_blocks();

my $b = $MediaTest::VARS{b};
is($t->psql("SELECT external_id FROM media WHERE id = $b"), 'ext-b',
   'the refused links left ext-b where it was');
is($t->psql("SELECT count(*) FROM media WHERE external_id IS NOT NULL"), 4,
   'four files have an external id (b, c, d, e)');

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: link an external id: the documented body, in order
--- request
POST /api/v1/media/$a/link
{"externalId": "ext-a"}
--- more_headers
Authorization: ApiKey $key
--- response_body
{"mediaId":$a,"externalId":"ext-a","linked":true}

=== TEST 2: the file is found by it
--- request
GET /api/v1/media/external/ext-a
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $a, "externalId": "ext-a", "size": "*number", "contentType": "image/jpeg",
 "optimization": "*string", "blurhash": "*", "originalUrl": "*string", "variants": "*array"}

=== TEST 3: linking the same id again is fine
--- request
POST /api/v1/media/$a/link
{"externalId": "ext-a"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": $a, "externalId": "ext-a", "linked": true}

=== TEST 4: another id for a file that has one
--- request
POST /api/v1/media/$a/link
{"externalId": "ext-a2"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 409
--- response_body_json
{"error": "File already has external ID", "error_code": "FILE_ALREADY_HAS_EXTERNAL_ID"}

=== TEST 5: an id another file uses
--- request
POST /api/v1/media/$c/link
{"externalId": "ext-b"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 409
--- response_body_json
{"error": "External ID already linked", "error_code": "EXTERNAL_ID_ALREADY_LINKED"}

=== TEST 6: link on an unknown file
--- request
POST /api/v1/media/999999/link
{"externalId": "ext-nowhere"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 7: unlink: the documented body with the old id
--- request
DELETE /api/v1/media/$a/link
--- more_headers
Authorization: ApiKey $key
--- response_body
{"mediaId":$a,"externalId":"ext-a","unlinked":true}

=== TEST 8: unlink again: the file has no external id
--- request
DELETE /api/v1/media/$a/link
--- more_headers
Authorization: ApiKey $key
--- error_code: 409
--- response_body_json
{"error": "*string", "error_code": "FILE_HAS_NO_EXTERNAL_ID"}

=== TEST 9: the old id finds nothing now
--- request
GET /api/v1/media/external/ext-a
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 10: the file itself is still there, without an external id
--- request
GET /api/v1/media/$a
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $a, "externalId": null, "...": "*"}

=== TEST 11: the freed id can go to another file
--- request
POST /api/v1/media/$c/link
{"externalId": "ext-a"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": $c, "externalId": "ext-a", "linked": true}

=== TEST 12: unlink on an unknown file
--- request
DELETE /api/v1/media/999999/link
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 13: GET by an unknown external id
--- request
GET /api/v1/media/external/no-such-id
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 14: an external id with a space and non-ASCII characters
--- request
POST /api/v1/media/$d/link
{"externalId": "квартира 1 ü"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": $d, "externalId": "квартира 1 ü", "linked": true}

=== TEST 15: ... is found by its URL-encoded form
--- request
GET /api/v1/media/external/%D0%BA%D0%B2%D0%B0%D1%80%D1%82%D0%B8%D1%80%D0%B0%201%20%C3%BC
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $d, "externalId": "квартира 1 ü", "...": "*"}

=== TEST 16: an external id with a slash
--- request
POST /api/v1/media/$e/link
{"externalId": "crm/42"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": $e, "externalId": "crm/42", "linked": true}

=== TEST 17: ... is found by its URL-encoded form
--- request
GET /api/v1/media/external/crm%2F42
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $e, "externalId": "crm/42", "...": "*"}

=== TEST 18: an external id of 255 characters that no file has
--- request
GET /api/v1/media/external/$ext_255
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 19: an external id of 256 characters in the path
--- request
GET /api/v1/media/external/$ext_256
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_EXTERNAL_ID"}

=== TEST 20: a NUL in the path's external id (nginx itself refuses %00)
--- request
GET /api/v1/media/external/ext%00b
--- more_headers
Authorization: ApiKey $key
--- error_code: 400

=== TEST 21: link without externalId
--- request
POST /api/v1/media/$b/link
{"id": "ext-x"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "externalId is required", "error_code": "VALIDATION_ERROR"}

=== TEST 22: link with externalId null
--- request
POST /api/v1/media/$b/link
{"externalId": null}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "externalId is required", "error_code": "VALIDATION_ERROR"}

=== TEST 23: link with an externalId of 256 characters
--- request
POST /api/v1/media/$b/link
{"externalId": "$ext_256"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 24: link with an empty externalId
--- request
POST /api/v1/media/$b/link
{"externalId": ""}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 25: link with a numeric externalId
--- request
POST /api/v1/media/$b/link
{"externalId": 12}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "externalId must be a string", "error_code": "VALIDATION_ERROR"}

=== TEST 26: link with a NUL in externalId
--- request
POST /api/v1/media/$b/link
{"externalId": "a\u0000"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "~^(VALIDATION_ERROR|INVALID_JSON)$"}

=== TEST 27: link with malformed JSON
--- request
POST /api/v1/media/$b/link
{"externalId": 
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_JSON"}

=== TEST 28: link without a body
--- request
POST /api/v1/media/$b/link
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_JSON"}

=== TEST 29: link on a non-numeric id
--- request
POST /api/v1/media/abc/link
{"externalId": "ext-x"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid file id", "error_code": "INVALID_ID"}

=== TEST 30: link on id 0
--- request
POST /api/v1/media/0/link
{"externalId": "ext-x"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid file id", "error_code": "INVALID_ID"}

=== TEST 31: unlink on an id too large for any integer
--- request
DELETE /api/v1/media/99999999999999999999999/link
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid file id", "error_code": "INVALID_ID"}

=== TEST 32: PUT is not a link method
--- request
PUT /api/v1/media/$b/link
{"externalId": "ext-x"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 405
--- response_body_json
{"error": "Method not allowed", "error_code": "METHOD_NOT_ALLOWED"}
