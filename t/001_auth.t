# Authentication on every /api/ route: missing, malformed, unknown and
# revoked keys; both schemes; routing errors.  The auth cache TTL is 1 s so
# that revocation can be observed quickly.
use strict;
use warnings;
use Test::More;
use MediaTest;

my $t = MediaTest->start(auth_ttl => '1s');

(my $changed_key = $t->key) =~ s/(.)$/$1 eq 'A' ? 'B' : 'A'/e;
var(unknown_key => 'mk_' . ('A' x 43), changed_key => $changed_key,
    upload_body => '{"files":[{"fileName":"a.jpg","size":10,'
                 . '"contentType":"image/jpeg"}]}');
run_blocks();

# Revocation: a working key stops working within the cache TTL (1 s here),
# on every nginx worker, and stays revoked.
my $key = $t->new_key($t->tenant);
my $ok = $t->api(GET => '/api/v1/media/999999', undef, key => $key);
is($ok->{status}, 404, 'a new key is accepted before revocation')
    or diag($ok->{content});
$t->admin('key', 'revoke', substr($key, 0, 11));
my $revoked_at = Time::HiRes::time();
my $res;
my $seen = $t->wait_until(sub {
    $res = $t->api(GET => '/api/v1/media/999999', undef, key => $key);
    return $res->{status} == 401;
}, timeout => 5);
ok($seen, 'revocation takes effect within the TTL (seen after '
   . sprintf('%.1f', Time::HiRes::time() - $revoked_at) . ' s)');
is_deeply($res->{json}, { error => 'API key revoked',
                          error_code => 'API_KEY_REVOKED' },
          'revoked key: error body') or diag($res->{content});
Time::HiRes::sleep(1.5);    # past another TTL: the cache must not flip back
for my $i (1 .. 6) {        # new connections, spread over both workers
    $res = $t->api(POST => '/api/v1/media/request-upload-url',
                   { files => [{ fileName => 'a.jpg', size => 1,
                                 contentType => 'image/jpeg' }] },
                   key => $key);
    last if $res->{status} != 401;
}
is($res->{status}, 401, 'a revoked key stays revoked on every worker');

# The other keys of the tenant are not affected.
is($t->api(GET => '/api/v1/media/999999')->{status}, 404,
   'the tenant\'s other key still works');

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: no Authorization header
--- request
GET /api/v1/media/1
--- error_code: 401
--- response_body_json
{"error": "Missing API key", "error_code": "MISSING_API_KEY"}
--- response_headers
Content-Type: ~^application/json

=== TEST 2: no Authorization header on a POST route
--- request
POST /api/v1/media/request-upload-url
$upload_body
--- error_code: 401
--- response_body_json
{"error": "Missing API key", "error_code": "MISSING_API_KEY"}

=== TEST 3: no Authorization header on bulk
--- request
POST /api/v1/media/bulk
{"operations": []}
--- error_code: 401
--- response_body_json
{"error": "Missing API key", "error_code": "MISSING_API_KEY"}

=== TEST 4: wrong scheme (Basic)
--- request
GET /api/v1/media/1
--- more_headers
Authorization: Basic dXNlcjpwYXNz
--- error_code: 401
--- response_body_json
{"error": "Malformed Authorization header", "error_code": "MALFORMED_AUTHORIZATION"}

=== TEST 5: scheme without a key
--- request
GET /api/v1/media/1
--- more_headers
Authorization: ApiKey
--- error_code: 401
--- response_body_json
{"error": "Malformed Authorization header", "error_code": "MALFORMED_AUTHORIZATION"}

=== TEST 6: Bearer without a token
--- request
GET /api/v1/media/1
--- more_headers
Authorization: Bearer
--- error_code: 401
--- response_body_json
{"error": "Malformed Authorization header", "error_code": "MALFORMED_AUTHORIZATION"}

=== TEST 7: empty header
--- request
GET /api/v1/media/1
--- more_headers
Authorization:
--- error_code: 401
--- response_body_json
{"error": "Malformed Authorization header", "error_code": "MALFORMED_AUTHORIZATION"}

=== TEST 8: a bare key without a scheme
--- request
GET /api/v1/media/1
--- more_headers
Authorization: $key
--- error_code: 401
--- response_body_json
{"error": "Malformed Authorization header", "error_code": "MALFORMED_AUTHORIZATION"}

=== TEST 9: garbage after the scheme
--- request
GET /api/v1/media/1
--- more_headers
Authorization: ApiKey not a key
--- error_code: 401
--- response_body_json
{"error": "Malformed Authorization header", "error_code": "MALFORMED_AUTHORIZATION"}

=== TEST 10: unknown key, ApiKey scheme
--- request
GET /api/v1/media/1
--- more_headers
Authorization: ApiKey $unknown_key
--- error_code: 401
--- response_body_json
{"error": "Invalid API key", "error_code": "INVALID_API_KEY"}

=== TEST 11: unknown key, Bearer scheme
--- request
POST /api/v1/media/request-upload-url
$upload_body
--- more_headers
Authorization: Bearer $unknown_key
--- error_code: 401
--- response_body_json
{"error": "Invalid API key", "error_code": "INVALID_API_KEY"}

=== TEST 12: a valid key with one character changed is unknown
--- request
GET /api/v1/media/1
--- more_headers
Authorization: ApiKey $changed_key
--- error_code: 401
--- response_body_json
{"error": "Invalid API key", "error_code": "INVALID_API_KEY"}

=== TEST 13: valid key, ApiKey scheme
--- request
POST /api/v1/media/request-upload-url
$upload_body
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"uuid": "*string", "upload": [{"url": "*string", "generatedFileName": "*string", "externalId": null}]}

=== TEST 14: valid key, Bearer scheme
--- request
POST /api/v1/media/request-upload-url
$upload_body
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"uuid": "*string", "upload": [{"url": "*string", "generatedFileName": "*string", "externalId": null}]}

=== TEST 15: the second tenant's key works too
--- request
GET /api/v1/media/999999
--- more_headers
Authorization: ApiKey $other_key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 16: unknown route
--- request
GET /api/v1/nothing-here
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "*string", "error_code": "NOT_FOUND"}

=== TEST 17: unknown API version
--- request
GET /api/v2/media/1
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "*string", "error_code": "NOT_FOUND"}

=== TEST 18: wrong method on request-upload-url
--- request
PUT /api/v1/media/request-upload-url
$upload_body
--- more_headers
Authorization: ApiKey $key
--- error_code: 405
--- response_body_json
{"error": "*string", "error_code": "METHOD_NOT_ALLOWED"}

=== TEST 19: wrong method on bulk
--- request
PATCH /api/v1/media/bulk
{"operations": []}
--- more_headers
Authorization: ApiKey $key
--- error_code: 405
--- response_body_json
{"error": "*string", "error_code": "METHOD_NOT_ALLOWED"}
