# POST /api/v1/properties/:id/images/presign, the PUT to its uploadUrl and
# POST .../images/confirm: the documented shapes (r2Key
# images/<tenant>/<property>/<32 hex>.<ext>, maxImages, 201 with Location),
# the extension rules, every documented 422, the Content-Type check of the
# PUT, confirming twice, and the worker optimizing the confirmed image.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentalotTest;

my $t = MediaTest->start;
my @blocks = blocks();
my %b = map { $blocks[$_]{name} =~ /^TEST (\d+):/ ? ($1 => $blocks[$_]) : () }
        0 .. $#blocks;
sub run_tests { run_blocks(map { $b{$_} // die "no TEST $_" } @_) }

my $p1 = property($t, 'Presign flat');
my $p2 = property($t, 'Second flat');
my $op = property($t, 'Other tenant flat', key => $t->other_key);
var(p1 => $p1, p2 => $p2, op => $op,
    name_255 => ('n' x 251) . '.jpg', name_256 => ('n' x 252) . '.jpg',
    alt_500 => 'a' x 500, alt_501 => 'a' x 501);

# --- presign: shapes, extensions, errors ---------------------------------
run_tests(1 .. 26);

# --- the PUT to the uploadUrl ---------------------------------------------
my $jpeg = make_image($t, 'living-room.jpg', 640, 480);
my $png = make_image($t, 'bath.png', 320, 240);
my $res = presign($t, $p1, { fileName => 'living-room.jpg',
                             contentType => 'image/jpeg',
                             sizeBytes => length $jpeg });
is($res->{status}, 200, 'presign for the JPEG') or diag($res->{content});
my $up = { %{ $res->{json}{data} }, size => length $jpeg, type => 'image/jpeg' };

# a PUT with another Content-Type than presigned stores nothing, and its
# key cannot be confirmed
my $p3 = property($t, 'Wrong type flat');
$res = presign($t, $p3, { fileName => 'wrong-type.jpg',
                          contentType => 'image/jpeg',
                          sizeBytes => length $jpeg });
my $bad = $res->{json}{data};
$res = put_file($t, $bad->{uploadUrl}, $jpeg, 'image/png');
is($res->{status}, 400, 'PUT with another Content-Type: 400');
is($res->{json} && $res->{json}{error_code}, 'INVALID_CONTENT_TYPE',
   '... INVALID_CONTENT_TYPE') or diag($res->{content});
ok(!-e $t->dir . "/store/$bad->{r2Key}", '... nothing stored');
is($t->psql("SELECT count(*) FROM uploads WHERE object_key = '$bad->{r2Key}'"),
   0, '... no upload recorded');
$res = rl_api($t, POST => "/api/v1/properties/$p3/images/confirm",
              { r2Key => $bad->{r2Key}, contentType => 'image/jpeg',
                sizeBytes => length $jpeg });
is($res->{status}, 422, '... and confirming its key is a 422')
    or diag($res->{content});
is($res->{json} && $res->{json}{error_code}, 'UPLOAD_NOT_FOUND',
   '... UPLOAD_NOT_FOUND');

$res = put_file($t, $up->{uploadUrl}, $jpeg, 'image/jpeg');
is($res->{status}, 200, 'PUT with the presigned Content-Type: 200')
    or diag($res->{content});
is(MediaTest::slurp($t->dir . "/store/$up->{r2Key}"), $jpeg,
   '... the bytes are stored under the r2Key');

# a key of another property (p2), uploaded
my $up2 = upload_image($t, $p2, content => $png, type => 'image/png',
                       name => 'bath.png', no_confirm => 1);
# presigned but never PUT
$res = presign($t, $p1, { fileName => 'never.jpg', contentType => 'image/jpeg',
                          sizeBytes => 1000 });
my $never = $res->{json}{data}{r2Key};
# the other tenant uploads to its own property
my $oup = upload_image($t, $op, content => $png, type => 'image/png',
                       key => $t->other_key, no_confirm => 1);

var(key1 => $up->{r2Key}, size1 => length $jpeg, key2 => $up2->{r2Key},
    size2 => length $png, never => $never, okey => $oup->{r2Key},
    size1_more => 1 + length $jpeg);

# --- confirm ----------------------------------------------------------------
my $p1_media = "SELECT count(*) FROM media WHERE object_key LIKE 'images/"
             . $t->tenant . "/$p1/%'";
is($t->psql($p1_media), 0, 'no media before confirm');
run_tests(30 .. 43);
is($t->psql($p1_media), 1,
   'the refused confirms and the repeated one made no media row');

my $img = $MediaTest::VARS{img1};
my $mid = media_id($t, $img);
like($mid, qr/^\d+$/, 'the image is a media row');
is($t->psql("SELECT object_key FROM media WHERE id = $mid"), $up->{r2Key},
   '... whose object is the r2Key');
my $m = $t->wait_optimized($mid, timeout => 60);
is($m->{optimization}, 'success', 'the worker optimized the image')
    or diag explain $m;
is($m->{contentType}, 'image/jpeg', '... a JPEG');
is($m->{size}, length $jpeg, '... of the uploaded size');
ok(ref $m->{variants} eq 'ARRAY' && @{ $m->{variants} } >= 1, '... variants');

my $file = $t->http(GET => $MediaTest::VARS{img1_url});
ok($file->{status} == 200 && $file->{content} eq $jpeg,
   'the image url serves the uploaded bytes') or diag("status $file->{status}");

# a second image: order 1, altText null; then the property shows both
my $second = upload_image($t, $p1, content => $png, type => 'image/png',
                          name => 'bath.png');
is_deeply([ @{ $second->{image} }{qw(order altText)} ], [1, undef],
          'a second image gets order 1 and altText null');
like($second->{location} // '',
     qr{^/api/v1/properties/$p1/images/\Q$second->{image}{id}\E$},
     '... and its Location');
var(img2 => $second->{image}{id});
run_tests(50 .. 52);

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: presign: uploadUrl, r2Key images/<tenant>/<property>/<32 hex>.jpg, maxImages 20
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "living-room.jpg", "contentType": "image/jpeg", "sizeBytes": 2048576}
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"uploadUrl": "~^http://127\\.0\\.0\\.1:$port/upload/images/$tenant/$p1/[0-9a-f]{32}\\.jpg\\?",
          "r2Key": "~^images/$tenant/$p1/[0-9a-f]{32}\\.jpg$",
          "maxImages": 20}}

=== TEST 2: the extension is the file name's, lowercased
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "Kitchen.JPEG", "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"uploadUrl": "*string", "r2Key": "~^images/$tenant/$p1/[0-9a-f]{32}\\.jpeg$", "maxImages": 20}}

=== TEST 3: no extension in the name: the type's (png)
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "bathroom", "contentType": "image/png", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"uploadUrl": "*string", "r2Key": "~^images/$tenant/$p1/[0-9a-f]{32}\\.png$", "maxImages": 20}}

=== TEST 4: an extension that is not plain: the type's (webp)
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "garden.we-bp", "contentType": "image/webp", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"uploadUrl": "*string", "r2Key": "~^images/$tenant/$p1/[0-9a-f]{32}\\.webp$", "maxImages": 20}}

=== TEST 5: a name with a path and spaces: never in the key; heic from the type
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "../../etc/pass wd", "contentType": "image/heic", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"uploadUrl": "*string", "r2Key": "~^images/$tenant/$p1/[0-9a-f]{32}\\.heic$", "maxImages": 20}}

=== TEST 6: sizeBytes of exactly 10 MB is allowed
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "big.jpg", "contentType": "image/jpeg", "sizeBytes": 10485760}
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"uploadUrl": "~[?&]size=10485760(&|$$)", "r2Key": "*string", "maxImages": 20}}

=== TEST 7: a fileName of 255 characters is allowed
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "$name_255", "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"uploadUrl": "*string", "r2Key": "~^images/$tenant/$p1/[0-9a-f]{32}\\.jpg$", "maxImages": 20}}

=== TEST 8: image/gif is not allowed
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "anim.gif", "contentType": "image/gif", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "INVALID_CONTENT_TYPE"}

=== TEST 9: a type in another case is not an allowed type
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "a.jpg", "contentType": "IMAGE/JPEG", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "INVALID_CONTENT_TYPE"}

=== TEST 10: sizeBytes over 10 MB
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "huge.jpg", "contentType": "image/jpeg", "sizeBytes": 10485761}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "FILE_TOO_LARGE"}

=== TEST 11: fileName over 255 characters
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "$name_256", "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 12: fileName missing
--- request
POST /api/v1/properties/$p1/images/presign
{"contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 13: fileName not a string
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": 42, "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 14: fileName empty
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "", "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~fileName", "error_code": "VALIDATION_ERROR"}

=== TEST 15: contentType missing
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "a.jpg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~contentType", "error_code": "VALIDATION_ERROR"}

=== TEST 16: sizeBytes missing
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "a.jpg", "contentType": "image/jpeg"}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~sizeBytes", "error_code": "VALIDATION_ERROR"}

=== TEST 17: sizeBytes as a string
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "a.jpg", "contentType": "image/jpeg", "sizeBytes": "1000"}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~sizeBytes", "error_code": "VALIDATION_ERROR"}

=== TEST 18: sizeBytes 0
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 0}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~sizeBytes", "error_code": "VALIDATION_ERROR"}

=== TEST 19: sizeBytes fractional
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 1000.5}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~sizeBytes", "error_code": "VALIDATION_ERROR"}

=== TEST 20: unknown property
--- request
POST /api/v1/properties/987654321/images/presign
{"fileName": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 21: another tenant's property
--- request
POST /api/v1/properties/$op/images/presign
{"fileName": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 22: a non-numeric property id
--- request
POST /api/v1/properties/abc/images/presign
{"fileName": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 23: malformed JSON
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "a.jpg",
--- more_headers
Authorization: Bearer $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_JSON"}

=== TEST 24: no body
--- request
POST /api/v1/properties/$p1/images/presign
--- more_headers
Authorization: Bearer $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_JSON"}

=== TEST 25: no key
--- request
POST /api/v1/properties/$p1/images/presign
{"fileName": "a.jpg", "contentType": "image/jpeg", "sizeBytes": 1000}
--- error_code: 401
--- response_body_json
{"error": "*string", "error_code": "MISSING_API_KEY"}

=== TEST 26: GET on presign is not allowed
--- request
GET /api/v1/properties/$p1/images/presign
--- more_headers
Authorization: Bearer $key
--- error_code: 405
--- response_body_json
{"error": "*string", "error_code": "METHOD_NOT_ALLOWED"}

=== TEST 30: confirm the key of another property
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$key2", "contentType": "image/png", "sizeBytes": $size2}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "INVALID_R2_KEY"}

=== TEST 31: confirm another tenant's key on its own property id
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$okey", "contentType": "image/png", "sizeBytes": $size2}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "INVALID_R2_KEY"}

=== TEST 32: a key outside images/ that merely contains the prefix
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "x/images/$tenant/$p1/0123456789abcdef0123456789abcdef.jpg", "contentType": "image/jpeg", "sizeBytes": 10}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "INVALID_R2_KEY"}

=== TEST 33: a key that was presigned but never uploaded
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$never", "contentType": "image/jpeg", "sizeBytes": 1000}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "UPLOAD_NOT_FOUND"}

=== TEST 34: wrong sizeBytes
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$key1", "contentType": "image/jpeg", "sizeBytes": $size1_more}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "SIZE_MISMATCH"}

=== TEST 35: wrong contentType (allowed, but not the uploaded one)
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$key1", "contentType": "image/png", "sizeBytes": $size1}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "CONTENT_TYPE_MISMATCH"}

=== TEST 36: a contentType that is not allowed
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$key1", "contentType": "image/gif", "sizeBytes": $size1}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "INVALID_CONTENT_TYPE"}

=== TEST 37: altText over 500 characters
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$key1", "contentType": "image/jpeg", "sizeBytes": $size1, "altText": "$alt_501"}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~altText", "error_code": "VALIDATION_ERROR"}

=== TEST 38: r2Key missing
--- request
POST /api/v1/properties/$p1/images/confirm
{"contentType": "image/jpeg", "sizeBytes": $size1}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "~r2Key", "error_code": "VALIDATION_ERROR"}

=== TEST 39: confirm on an unknown property
--- request
POST /api/v1/properties/987654321/images/confirm
{"r2Key": "$key1", "contentType": "image/jpeg", "sizeBytes": $size1}
--- more_headers
Authorization: Bearer $key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "PROPERTY_NOT_FOUND"}

=== TEST 40: confirm: 201, Location, the image
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$key1", "contentType": "image/jpeg", "sizeBytes": $size1, "altText": "Living room"}
--- more_headers
Authorization: Bearer $key
--- error_code: 201
--- response_headers
Location: ~^/api/v1/properties/$p1/images/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$$
--- response_body_json
{"data": {"id": "~^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
          "url": "http://127.0.0.1:$port/files/$key1",
          "altText": "Living room", "order": 0}}
--- set
img1 = data.id
img1_url = data.url

=== TEST 41: the Location names the image
--- request
POST /api/v1/properties/$p1/images/confirm
{"r2Key": "$key1", "contentType": "image/jpeg", "sizeBytes": $size1, "altText": "Living room"}
--- more_headers
Authorization: Bearer $key
--- error_code: 201
--- response_headers
Location: /api/v1/properties/$p1/images/$img1
--- response_body_json
{"data": {"id": "$img1", "url": "$img1_url", "altText": "Living room", "order": 0}}

=== TEST 42: the other tenant cannot confirm the key on its property
--- request
POST /api/v1/properties/$op/images/confirm
{"r2Key": "$key1", "contentType": "image/jpeg", "sizeBytes": $size1}
--- more_headers
Authorization: Bearer $other_key
--- error_code: 422
--- response_body_json
{"error": "*string", "error_code": "INVALID_R2_KEY"}

=== TEST 43: GET the property: the image
--- request
GET /api/v1/properties/$p1
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": {"id": $p1, "title": "Presign flat", "externalId": null, "status": "*string",
          "images": [{"id": "$img1", "url": "$img1_url", "altText": "Living room", "order": 0}]}}

=== TEST 50: GET .../images: both, by order
--- request
GET /api/v1/properties/$p1/images
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": [{"id": "$img1", "url": "$img1_url", "altText": "Living room", "order": 0},
          {"id": "$img2", "url": "*string", "altText": null, "order": 1}]}

=== TEST 51: altText of exactly 500 characters is accepted
--- request
POST /api/v1/properties/$p2/images/confirm
{"r2Key": "$key2", "contentType": "image/png", "sizeBytes": $size2, "altText": "$alt_500"}
--- more_headers
Authorization: Bearer $key
--- error_code: 201
--- response_body_json
{"data": {"id": "*string", "url": "*string", "altText": "$alt_500", "order": 0}}

=== TEST 52: the other property has its own image only
--- request
GET /api/v1/properties/$p2/images
--- more_headers
Authorization: Bearer $key
--- response_body_json
{"data": [{"id": "*string", "url": "http://127.0.0.1:$port/files/$key2", "altText": "$alt_500", "order": 0}]}
