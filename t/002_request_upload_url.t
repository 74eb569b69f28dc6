# POST /api/v1/media/request-upload-url: the response shape, the signed
# URLs (checked against our own HMAC), file name sanitizing, and every
# validation error with its status and error_code.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use URI;
use MediaTest;

my $t = MediaTest->start;
my $J = JSON::PP->new->canonical;

my @types = qw(image/jpeg image/png image/webp image/heic image/heif
               image/gif image/tiff image/avif video/mp4 video/quicktime
               video/x-msvideo);

# The URL the module issued must be the one we compute from sign.key.
sub check_url {
    my ($url, $file, $name, $what) = @_;
    my $u = URI->new($url);
    my %q = $u->query_form;
    is($u->scheme . '://' . $u->host_port, $t->base, "$what: our host");
    is($u->path, '/upload/' . $t->tenant . "/$name", "$what: path");
    is($q{type}, $file->{contentType}, "$what: signed type");
    is($q{size}, $file->{size}, "$what: signed size");
    my $ttl = ($q{expires} // 0) - time;
    ok($ttl > 1790 && $ttl <= 1801, "$what: valid 30 minutes ($ttl s)");
    is($q{sig}, $t->upload_sig(object_key => $t->tenant . "/$name",
                               type => $q{type}, size => $q{size},
                               expires => $q{expires}),
       "$what: sig is HMAC-SHA256 over method, key, type, size, expiry");
    is(join(',', sort keys %q), 'expires,sig,size,type', "$what: query");
}

# One file, every field.
my $file = { fileName => 'living-room.jpg', size => 245000,
             contentType => 'image/jpeg', externalId => 'apt-001-photo-1' };
my $res = $t->api(POST => '/api/v1/media/request-upload-url',
                  { files => [$file] });
is($res->{status}, 200, 'one file: 200') or diag($res->{content});
my @diff = json_match($res->{json}, {
    uuid => '~^[0-9a-f]{32}$',
    upload => [{ url => '*string',
                 generatedFileName => '~^[0-9a-f]{32}_living-room\.jpg$',
                 externalId => 'apt-001-photo-1' }] });
ok(!@diff, 'one file: response shape') or diag(join "\n", @diff);
my $uuid = $res->{json}{uuid} // '';
my $up = $res->{json}{upload}[0] // {};
is($up->{generatedFileName}, "${uuid}_living-room.jpg",
   'generatedFileName is uuid_fileName');
check_url($up->{url} // '', $file, "${uuid}_living-room.jpg", 'one file');

# Every allowed content type in one request, in order, externalId null.
my @files = map { { fileName => "f$_.bin", size => 1000 + $_,
                    contentType => $types[$_] } } 0 .. $#types;
$res = $t->api(POST => '/api/v1/media/request-upload-url',
               { files => \@files });
is($res->{status}, 200, 'every allowed type: 200') or diag($res->{content});
$uuid = $res->{json}{uuid} // '';
for my $i (0 .. $#types) {
    my $u = $res->{json}{upload}[$i] // {};
    is($u->{generatedFileName}, "${uuid}_f$i.bin", "file $i: name, in order");
    ok(exists $u->{externalId} && !defined $u->{externalId},
       "file $i: externalId null");
    check_url($u->{url} // '', $files[$i], "${uuid}_f$i.bin", $types[$i]);
}

# Two requests never share a uuid.
my $again = $t->api(POST => '/api/v1/media/request-upload-url',
                    { files => [$file] });
isnt($again->{json}{uuid}, $res->{json}{uuid}, 'a new uuid every request');

# File names: everything outside [A-Za-z0-9._-] becomes "_".
for my $case (['my photo (1).JPG', 'my_photo__1_.JPG'],
              ['../../etc/passwd', '_._.._etc_passwd'],   # a leading dot too
              ['a/b\\c?d#e%f&g=h+i', 'a_b_c_d_e_f_g_h_i'],
              ['x_y-z.1.png', 'x_y-z.1.png']) {
    my $r = $t->api(POST => '/api/v1/media/request-upload-url',
        { files => [{ fileName => $case->[0], size => 5,
                      contentType => 'image/png' }] });
    my $id = $r->{json}{uuid} // '?';
    is($r->{json}{upload}[0]{generatedFileName}, "${id}_$case->[1]",
       "sanitized: $case->[0]") or diag($r->{content});
}

# Limits: exactly 100 files and the maximum size are fine.
@files = map { { fileName => "p$_.jpg", size => 1, contentType => 'image/jpeg' } }
         1 .. 100;
$res = $t->api(POST => '/api/v1/media/request-upload-url', { files => \@files });
is($res->{status}, 200, '100 files: 200');
is(scalar @{ $res->{json}{upload} || [] }, 100, '100 files: 100 URLs');
# A fileName of 255 characters is accepted.  uuid_ + 255 characters would
# be longer than a file name may be (255 bytes), so the generated name may
# be shortened, but it stays a name the store can hold and the PUT works.
my $long = 'n' x 251 . '.jpg';
$res = $t->api(POST => '/api/v1/media/request-upload-url',
    { files => [{ fileName => $long, size => 3, contentType => 'image/jpeg' }] });
is($res->{status}, 200, 'fileName of 255 characters: 200')
    or diag($res->{content});
my $gen = $res->{json}{upload}[0]{generatedFileName} // '';
like($gen, qr/^\Q$res->{json}{uuid}\E_n+\.jpg$/,
     'fileName of 255 characters: uuid_ + the name (maybe shortened)');
ok(length $gen <= 255, 'the generated name fits in a file name');
my $put = $t->http(PUT => $res->{json}{upload}[0]{url} // '/',
                   body => 'abc', headers => { 'Content-Type' => 'image/jpeg' });
is($put->{status}, 200, 'PUT to the long name works') or diag($put->{content});

push @files, { fileName => 'p101.jpg', size => 1, contentType => 'image/jpeg' };
var(files_101 => $J->encode({ files => \@files }),
    name_256 => 'n' x 252 . '.jpg',
    bad_utf8 => "a\xff.jpg", ext_255 => 'e' x 255, ext_256 => 'e' x 256,
    big_body => $J->encode({ files => [{ fileName => 'x' x (1024 * 1024),
                                         size => 1,
                                         contentType => 'image/jpeg' }] }));

run_blocks();
$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: 101 files
--- request
POST /api/v1/media/request-upload-url
$files_101
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "TOO_MANY_FILES"}

=== TEST 2: malformed JSON
--- request
POST /api/v1/media/request-upload-url
{"files": [
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~^Malformed JSON body: .+", "error_code": "INVALID_JSON"}

=== TEST 3: not JSON at all
--- request
POST /api/v1/media/request-upload-url
files=1
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~^Malformed JSON body: .+", "error_code": "INVALID_JSON"}

=== TEST 4: trailing garbage after the document
--- request
POST /api/v1/media/request-upload-url
{"files": []} x
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~^Malformed JSON body: .+", "error_code": "INVALID_JSON"}

=== TEST 5: a JSON array instead of an object
--- request
POST /api/v1/media/request-upload-url
[{"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg"}]
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 6: files missing
--- request
POST /api/v1/media/request-upload-url
{}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files", "error_code": "VALIDATION_ERROR"}

=== TEST 7: files not an array
--- request
POST /api/v1/media/request-upload-url
{"files": {"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg"}}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files", "error_code": "VALIDATION_ERROR"}

=== TEST 8: files empty
--- request
POST /api/v1/media/request-upload-url
{"files": []}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files", "error_code": "VALIDATION_ERROR"}

=== TEST 9: a file that is not an object
--- request
POST /api/v1/media/request-upload-url
{"files": ["a.jpg"]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]", "error_code": "VALIDATION_ERROR"}

=== TEST 10: size missing
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.size", "error_code": "VALIDATION_ERROR"}

=== TEST 11: size a string
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": "100", "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.size", "error_code": "VALIDATION_ERROR"}

=== TEST 12: size zero
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 0, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.size", "error_code": "VALIDATION_ERROR"}

=== TEST 13: size negative
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": -5, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.size", "error_code": "VALIDATION_ERROR"}

=== TEST 14: size not an integer
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1.5, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.size", "error_code": "VALIDATION_ERROR"}

=== TEST 15: size of the second file wrong: the message names it
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg"},
           {"fileName": "b.jpg", "size": null, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[1\\]\\.size", "error_code": "VALIDATION_ERROR"}

=== TEST 16: fileName missing
--- request
POST /api/v1/media/request-upload-url
{"files": [{"size": 1, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 17: fileName empty
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "", "size": 1, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 18: fileName a number
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": 12, "size": 1, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 19: fileName of 256 characters
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "$name_256", "size": 1, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 20: the same fileName twice in one request
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg"},
           {"fileName": "a.jpg", "size": 2, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 21: contentType missing
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.contentType", "error_code": "VALIDATION_ERROR"}

=== TEST 22: contentType not a string
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1, "contentType": ["image/jpeg"]}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.contentType", "error_code": "VALIDATION_ERROR"}

=== TEST 23: a content type outside the list
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.txt", "size": 1, "contentType": "text/plain"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid content type", "error_code": "INVALID_CONTENT_TYPE"}

=== TEST 24: an image type that is not in the list
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.svg", "size": 1, "contentType": "image/svg+xml"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid content type", "error_code": "INVALID_CONTENT_TYPE"}

=== TEST 25: a content type with parameters is not in the list
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg; x=1"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid content type", "error_code": "INVALID_CONTENT_TYPE"}

=== TEST 26: declared size over the limit (100 MiB + 1)
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.mp4", "size": 104857601, "contentType": "video/mp4"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "File too large", "error_code": "FILE_TOO_LARGE"}

=== TEST 27: declared size far over the limit
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.mp4", "size": 99999999999999, "contentType": "video/mp4"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "File too large", "error_code": "FILE_TOO_LARGE"}

=== TEST 28: declared size exactly at the limit is fine
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.mp4", "size": 104857600, "contentType": "video/mp4"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"uuid": "*string", "upload": [{"url": "~&size=104857600&", "generatedFileName": "*string", "externalId": null}]}

=== TEST 29: externalId a number
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg", "externalId": 42}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 30: externalId empty
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg", "externalId": ""}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 31: externalId of 255 characters is fine
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg", "externalId": "$ext_255"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"uuid": "*string", "upload": [{"url": "*string", "generatedFileName": "*string", "externalId": "$ext_255"}]}

=== TEST 32: externalId of 256 characters
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "a.jpg", "size": 1, "contentType": "image/jpeg", "externalId": "$ext_256"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~files\\[0\\]\\.externalId", "error_code": "VALIDATION_ERROR"}

=== TEST 33: body over 1 MiB
--- request
POST /api/v1/media/request-upload-url
$big_body
--- more_headers
Authorization: ApiKey $key
--- error_code: 413
--- response_body_json
{"error": "*string", "error_code": "BODY_TOO_LARGE"}

=== TEST 34: empty body
--- request
POST /api/v1/media/request-upload-url
--- more_headers
Authorization: ApiKey $key
Content-Type: application/json
--- error_code: 400
--- response_body_json
{"error": "~^Malformed JSON body: .+", "error_code": "INVALID_JSON"}

=== TEST 35: an invalid UTF-8 string
--- request
POST /api/v1/media/request-upload-url
{"files": [{"fileName": "$bad_utf8", "size": 1, "contentType": "image/jpeg"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "~^Malformed JSON body: .+", "error_code": "INVALID_JSON"}
