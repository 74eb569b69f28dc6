# Tenant isolation: with a second tenant's key, every endpoint on the first
# tenant's ids, external ids, uploads and listings answers as if they did
# not exist ("File not found", LISTING_NOT_FOUND, never 403), and nothing of
# the first tenant changes.  External ids are per tenant: the second tenant
# may use the same ones for its own files and listings.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentixTest;

my $t = MediaTest->start;

my $jpeg = make_image($t, 'iso.jpg', 200, 150);
my %id = map {
    $_ => $t->upload(content => $jpeg, name => "$_.jpg",
                     external_id => "iso-$_")->{media_id}
} qw(a1 a2 a3);
my $pending = $t->upload(content => $jpeg, name => 'pend.jpg', no_confirm => 1);
$t->wait_optimized($id{$_}) for keys %id;
my $res = listing_put($t, { externalId => 'iso-L', title => 'A listing',
    announcementStatus => 'active', announcementValue => 700,
    files => [ map { { id => $id{$_} } } qw(a1 a2 a3) ] });
is($res->{status}, 200, "tenant A's listing") or diag($res->{content});

# What tenant A sees before; compared again at the end.
sub snapshot {
    return join "\n",
        map({ $t->api(GET => "/api/v1/media/$id{$_}")->{content} } sort keys %id),
        $t->api(GET => '/api/v1/listings/iso-L')->{content},
        $t->psql('SELECT count(*) FROM media WHERE tenant_id = ' . $t->tenant),
        $t->psql('SELECT count(*) || max(updated_at)::text FROM listings WHERE tenant_id = '
                 . $t->tenant);
}
my $before = snapshot();

var(%id, p_uuid => $pending->{uuid}, p_name => $pending->{name});
run_blocks();

is(snapshot(), $before, "nothing of tenant A changed");
is($t->psql("SELECT count(*) FROM uploads WHERE confirmed_at IS NULL AND object_key LIKE '%pend.jpg'"),
   1, "tenant A's pending upload is still unconfirmed");

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: GET another tenant's file
--- request
GET /api/v1/media/$a1
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 2: GET it by its external id
--- request
GET /api/v1/media/external/iso-a1
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 3: DELETE it
--- request
DELETE /api/v1/media/$a1
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 4: DELETE it by its external id
--- request
DELETE /api/v1/media/external/iso-a2
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 5: link an id to it
--- request
POST /api/v1/media/$a1/link
{"externalId": "iso-b-link"}
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 6: unlink its id
--- request
DELETE /api/v1/media/$a1/link
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 7: every bulk operation on tenant A's things
--- request
POST /api/v1/media/bulk
{"operations": [
  {"op": "link", "mediaId": $a1, "externalId": "iso-b-link"},
  {"op": "unlink", "mediaId": $a1},
  {"op": "delete", "mediaId": $a2},
  {"op": "delete", "externalId": "iso-a3"},
  {"op": "confirm-upload", "uuid": "$p_uuid", "generatedFileName": "$p_name"}
]}
--- more_headers
Authorization: ApiKey $other_key
--- response_body_json
{"results": [
  {"op": "link", "externalId": "iso-b-link", "mediaId": $a1, "success": false,
   "error": {"statusCode": 404, "body": {"error": "File not found", "error_code": "FILE_NOT_FOUND"}}},
  {"op": "unlink", "externalId": null, "mediaId": $a1, "success": false,
   "error": {"statusCode": 404, "body": {"error": "File not found", "error_code": "FILE_NOT_FOUND"}}},
  {"op": "delete", "externalId": null, "mediaId": $a2, "success": false,
   "error": {"statusCode": 404, "body": {"error": "File not found", "error_code": "FILE_NOT_FOUND"}}},
  {"op": "delete", "externalId": "iso-a3", "mediaId": null, "success": false,
   "error": {"statusCode": 404, "body": {"error": "File not found", "error_code": "FILE_NOT_FOUND"}}},
  {"op": "confirm-upload", "uuid": "$p_uuid", "generatedFileName": "$p_name", "externalId": null, "mediaId": null, "success": false,
   "error": {"statusCode": 404, "body": {"error": "*string", "error_code": "UPLOAD_NOT_FOUND"}}}
 ],
 "summary": {"total": 5, "succeeded": 0, "failed": 5}}

=== TEST 8: GET another tenant's listing
--- request
GET /api/v1/listings/iso-L
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "Listing not found", "error_code": "LISTING_NOT_FOUND"}

=== TEST 9: a listing with another tenant's file by id
--- request
PUT /api/v1/listings
{"externalId": "iso-B1", "files": [{"id": $a1}]}
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "~File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 10: a listing with another tenant's file by externalFileId
--- request
PUT /api/v1/listings
{"externalId": "iso-B1", "files": [{"externalFileId": "iso-a1"}]}
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "~File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 11: ... neither created a listing
--- request
GET /api/v1/listings/iso-B1
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "Listing not found", "error_code": "LISTING_NOT_FOUND"}

=== TEST 12: the same listing externalId is tenant B's own listing
--- request
PUT /api/v1/listings
{"externalId": "iso-L", "title": "B's listing"}
--- more_headers
Authorization: ApiKey $other_key
--- response_body_json
{"id": "*number", "externalId": "iso-L", "status": "draft", "announcementStatus": "draft",
 "title": "B's listing", "files": [], "createdAt": "*string", "updatedAt": "*string"}

=== TEST 13: the same file externalId is free for tenant B
--- request
POST /api/v1/media/upload-from-url
{"url": "http://127.0.0.1:9/b.jpg", "externalId": "iso-a1"}
--- more_headers
Authorization: ApiKey $other_key
--- response_body_json
{"mediaId": "*number", "status": "pending", "externalId": "iso-a1", "jobId": "*number"}
--- set
b1 = mediaId

=== TEST 14: tenant B finds its own iso-a1
--- request
GET /api/v1/media/external/iso-a1
--- more_headers
Authorization: ApiKey $other_key
--- response_body_json
{"id": $b1, "externalId": "iso-a1", "...": "*"}

=== TEST 15: tenant A still finds its own iso-a1
--- request
GET /api/v1/media/external/iso-a1
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $a1, "externalId": "iso-a1", "...": "*"}

=== TEST 16: tenant A cannot see tenant B's file
--- request
GET /api/v1/media/$b1
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 17: tenant B re-links its own iso-a1: ids are per tenant, no conflict with A's
--- request
POST /api/v1/media/$b1/link
{"externalId": "iso-a1"}
--- more_headers
Authorization: ApiKey $other_key
--- response_body_json
{"mediaId": $b1, "externalId": "iso-a1", "linked": true}

=== TEST 18: tenant A's listing is unchanged
--- request
GET /api/v1/listings/iso-L
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"externalId": "iso-L", "title": "A listing", "status": "active", "announcementValue": 700, "...": "*",
 "files": [{"order": 0, "id": $a1, "...": "*"}, {"order": 1, "id": $a2, "...": "*"},
           {"order": 2, "id": $a3, "...": "*"}]}
