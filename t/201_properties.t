# POST /api/v1/properties and GET /api/v1/properties/:id: the documented
# {"data": ...} envelopes, 201 on create, PROPERTY_NOT_FOUND (422) for an
# unknown id, another tenant's property and a non-numeric id, validation of
# the body, and a property as the same record as a Rentix listing.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentalotTest;

my $t = MediaTest->start;

var(title_501 => 't' x 501, ext_256 => 'e' x 256);
run_blocks();

is($t->psql("SELECT count(*) FROM listings WHERE title = 'Flat 1'"), 1,
   'one listing row for the created property');
is($t->psql("SELECT tenant_id FROM listings WHERE title = 'Flat 2'"),
   $t->tenant, '... owned by the tenant of the key');
is($t->psql("SELECT count(*) FROM listings WHERE title LIKE 'bad%'"), 0,
   'refused requests created nothing');

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: create a property with a title only
--- request
POST /api/v1/properties
{"title": "Flat 1"}
--- more_headers
Authorization: Bearer $key
--- error_code: 201
--- response_body_json
{"data": {"id": "*number"}}
--- set
p1 = data.id

=== TEST 2: GET it: id, title, externalId null, status, no images
--- request
GET /api/v1/properties/$p1
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"id": $p1, "title": "Flat 1", "externalId": null, "status": "*string", "images": []}}

=== TEST 3: create with an externalId
--- request
POST /api/v1/properties
{"title": "Flat 2", "externalId": "prop-ext-1"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 201
--- response_body_json
{"data": {"id": "*number"}}
--- set
p2 = data.id

=== TEST 4: GET it shows the externalId
--- request
GET /api/v1/properties/$p2
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"data": {"id": $p2, "title": "Flat 2", "externalId": "prop-ext-1", "status": "*string", "images": []}}

=== TEST 5: the property is a listing: GET /api/v1/listings/:externalId
--- request
GET /api/v1/listings/prop-ext-1
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $p2, "externalId": "prop-ext-1", "title": "Flat 2", "files": [], "...": "*"}

=== TEST 6: unknown id
--- request
GET /api/v1/properties/987654321
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 7: another tenant's property is not found
--- request
GET /api/v1/properties/$p1
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 8: a non-numeric id
--- request
GET /api/v1/properties/abc
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 9: id 0
--- request
GET /api/v1/properties/0
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 10: a negative id
--- request
GET /api/v1/properties/-5
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 11: an id beyond bigint
--- request
GET /api/v1/properties/99999999999999999999999
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 12: the images of an unknown property
--- request
GET /api/v1/properties/987654321/images
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 13: title missing
--- request
POST /api/v1/properties
{"externalId": "bad-1"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "~title", "error_code": "VALIDATION_ERROR"}

=== TEST 14: title not a string
--- request
POST /api/v1/properties
{"title": 12}
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "~title", "error_code": "VALIDATION_ERROR"}

=== TEST 15: title over 500 characters
--- request
POST /api/v1/properties
{"title": "$title_501"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "~title", "error_code": "VALIDATION_ERROR"}

=== TEST 16: externalId over 255 characters
--- request
POST /api/v1/properties
{"title": "bad-2", "externalId": "$ext_256"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "~externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 17: malformed JSON
--- request
POST /api/v1/properties
{"title": "bad-3"
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_JSON"}

=== TEST 18: the body is not an object
--- request
POST /api/v1/properties
["bad-4"]
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 19: an externalId already used by a property of the tenant
--- request
POST /api/v1/properties
{"title": "bad-5", "externalId": "prop-ext-1"}
--- more_headers
Authorization: ApiKey $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "DUPLICATE_EXTERNAL_ID"}

=== TEST 20: the same externalId for another tenant is fine
--- request
POST /api/v1/properties
{"title": "Other flat", "externalId": "prop-ext-1"}
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 201
--- response_body_json
{"data": {"id": "*number"}}
--- set
op1 = data.id

=== TEST 21: ... and GET by the other tenant shows its own
--- request
GET /api/v1/properties/$op1
--- more_headers
Authorization: ApiKey $other_key
--- response_body_json
{"data": {"id": $op1, "title": "Other flat", "externalId": "prop-ext-1", "status": "*string", "images": []}}

=== TEST 22: no key
--- request
POST /api/v1/properties
{"title": "bad-6"}
--- error_code: 401
--- response_body_json
{"error": "*string", "error_code": "MISSING_API_KEY"}

=== TEST 23: GET on the collection is not allowed
--- request
GET /api/v1/properties
--- more_headers
Authorization: ApiKey $key
--- error_code: 405
--- response_body_json
{"error": "*string", "error_code": "METHOD_NOT_ALLOWED"}
