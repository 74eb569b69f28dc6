# The Rentix API with media_storage s3 against s3rver: request-upload-url
# (every URL checked by the independent SigV4 verifier), PUT to the
# bucket, bulk confirm-upload (HEAD), optimize (the worker GETs the
# original and PUTs the variants), read back through s3rver, delete (the
# objects leave the bucket), confirm of an object never uploaded, and URL
# import into the bucket.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentixTest;
use S3Test;

my $t = S3Test->start(import_allow => '127.0.0.1/32');
my $bucket = S3Test::bucket_url();
my $tenant = $t->tenant;

my $jpeg = make_image($t, 'living-room.jpg', 800, 600);
my $png = make_image($t, 'plan.png', 300, 200);

# --- request-upload-url: presigned PUTs into the bucket -------------------
my $res = $t->api(POST => '/api/v1/media/request-upload-url', { files => [
    { fileName => 'living-room.jpg', size => length $jpeg,
      contentType => 'image/jpeg', externalId => 's3-photo-1' },
    { fileName => 'plan.png', size => length $png,
      contentType => 'image/png' },
    { fileName => 'never.jpg', size => 1234, contentType => 'image/jpeg' },
] });
is($res->{status}, 200, 'request-upload-url') or diag($res->{content});
my ($u1, $u2, $never) = @{ $res->{json}{upload} };
my $uuid = $res->{json}{uuid};
for my $u ($u1, $u2, $never) {
    like($u->{url}, qr{^\Q$bucket\E/$tenant/\Q$u->{generatedFileName}\E\?.*X-Amz-Signature=[0-9a-f]{64}},
         "$u->{generatedFileName}: a presigned URL of the bucket");
    like($u->{url}, qr/X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost/,
         '... content-length and content-type signed');
    like($u->{url}, qr/X-Amz-Expires=1800(&|$)/, '... valid 30 minutes');
}

# --- the independent verifier ----------------------------------------------
my @v = S3Test::verify([$u1->{url}, 'image/jpeg', length $jpeg],
                       [$u2->{url}, 'image/png', length $png],
                       [$never->{url}, 'image/jpeg', 1234]);
is_deeply(\@v, [('ok') x 3], 'every URL verifies with @smithy/signature-v4')
    or diag(join "\n", @v);
# ... and the verifier does tell: another type, size, key or secret fails
(my $other_key = $u1->{url}) =~ s/living-room/living_room/;
@v = S3Test::verify([$u1->{url}, 'image/png', length $jpeg],
                    [$u1->{url}, 'image/jpeg', 1 + length $jpeg],
                    [$other_key, 'image/jpeg', length $jpeg]);
is(scalar(grep { /^mismatch: signature/ } @v), 3,
   'the verifier refuses another content type, length or key')
    or diag(join "\n", @v);

# --- PUT to the bucket --------------------------------------------------------
for ([$u1, $jpeg, 'image/jpeg'], [$u2, $png, 'image/png']) {
    my ($u, $body, $type) = @$_;
    my $put = $t->http(PUT => $u->{url}, body => $body,
                       headers => { 'Content-Type' => $type });
    is($put->{status}, 200, "PUT $u->{generatedFileName} to s3rver")
        or diag($put->{content});
}
ok(S3Test::object_exists("$tenant/$u1->{generatedFileName}"),
   'the object is in the bucket');
is($t->psql("SELECT count(*) FROM uploads"), 0,
   'nothing recorded before confirm (the store is not ours to watch)');

# s3rver does not check signatures: a PUT with another Content-Type than
# signed is accepted there; the real store answers 403.  The verifier is
# what proves the signature covers the type (above).
my $wrong = $t->http(PUT => $never->{url}, body => 'x' x 1234,
                     headers => { 'Content-Type' => 'image/png' });
note("s3rver on a PUT with another Content-Type: $wrong->{status}");
$t->http(DELETE => "$bucket/$tenant/$never->{generatedFileName}");

# --- confirm (bulk): HEAD, record, media rows, jobs ---------------------------
my $c = $t->api(POST => '/api/v1/media/bulk', { operations => [
    { op => 'confirm-upload', uuid => $uuid,
      generatedFileName => $u1->{generatedFileName}, externalId => 's3-photo-1' },
    { op => 'confirm-upload', uuid => $uuid,
      generatedFileName => $u2->{generatedFileName} },
    { op => 'confirm-upload', uuid => $uuid,
      generatedFileName => $never->{generatedFileName} },
] });
is($c->{status}, 200, 'bulk confirm-upload') or diag($c->{content});
my @r = @{ $c->{json}{results} };
ok($r[0]{success} && $r[1]{success}, 'the two uploaded files are confirmed')
    or diag($c->{content});
ok(!$r[2]{success}, 'the file never uploaded is not');
is($r[2]{error}{body}{error_code} // '', 'UPLOAD_NOT_FOUND',
   '... UPLOAD_NOT_FOUND') or diag(explain $r[2]);
is($c->{json}{summary}{failed}, 1, '... summary counts it');

# --- optimize: GET the original, PUT the variants -----------------------------
my %media;
for my $i (0, 1) {
    my $m = $t->wait_optimized($r[$i]{mediaId}, timeout => 60);
    is($m->{optimization}, 'success', "media $r[$i]{mediaId} optimized")
        or diag(explain $m);
    $media{ $r[$i]{mediaId} } = $m;
    like($m->{originalUrl}, qr{^\Q$bucket\E/$tenant/}, '... originalUrl in the bucket');
    is(scalar @{ $m->{variants} }, 3, '... three variants') or next;
    for my $v (@{ $m->{variants} }) {
        like($v->{url}, qr{^\Q$bucket\E/}, "... variant $v->{variantSize} in the bucket");
        my $g = $t->http(GET => $v->{url});
        is($g->{status}, 200, '... readable through s3rver');
        like($g->{content}, qr/^RIFF....WEBP/s, '... a WebP');
        is(length $g->{content}, $v->{size}, '... of the recorded size');
        is($g->{headers}{'content-type'}, 'image/webp', '... stored as image/webp');
    }
}
my $orig = $t->http(GET => $media{ $r[0]{mediaId} }{originalUrl});
is($orig->{content}, $jpeg, 'the original reads back unchanged');
ok(!glob($t->dir . '/store/.tmp/import-*'), 'no scratch file left behind');

# --- delete: objects leave the bucket -----------------------------------------
my $id = $r[0]{mediaId};
my @keys = ("$tenant/$u1->{generatedFileName}",
            map { (my $k = $_->{url}) =~ s{^\Q$bucket\E/}{}; $k }
            @{ $media{$id}{variants} });
ok(!grep({ !S3Test::object_exists($_) } @keys), 'before delete: all 4 objects there');
$res = $t->api(DELETE => "/api/v1/media/$id");
is($res->{status}, 200, 'DELETE /api/v1/media/:id') or diag($res->{content});
ok($t->wait_until(sub { !grep { S3Test::object_exists($_) } @keys },
                  timeout => 20), 'the original and its variants are gone from the bucket')
    or diag(join ' ', grep { S3Test::object_exists($_) } @keys);
ok(S3Test::object_exists("$tenant/$u2->{generatedFileName}"),
   'the other file stays');
is($t->psql('SELECT count(*) FROM storage_garbage'), 0, 'nothing left to remove');

# --- URL import into the bucket -------------------------------------------------
my $fs = RentixTest::FileServer->start($t->dir . '/files');
my $garden = make_image($t, 'garden.jpg', 640, 480);
$fs->put('garden.jpg', $garden, 'image/jpeg');
$res = $t->api(POST => '/api/v1/media/upload-from-url',
               { url => $fs->url('garden.jpg'), externalId => 's3-import-1' });
is($res->{status}, 200, 'upload-from-url') or diag($res->{content});
my $m = $t->wait_optimized($res->{json}{mediaId}, timeout => 60);
is($m->{optimization}, 'success', 'the import is optimized') or diag(explain $m);
is($m->{contentType}, 'image/jpeg', '... detected as JPEG');
is($m->{size}, length $garden, '... of the fetched size');
like($m->{originalUrl}, qr{^\Q$bucket\E/}, '... the original is in the bucket');
is($t->http(GET => $m->{originalUrl})->{content}, $garden,
   '... and reads back unchanged');
is(scalar(grep { $t->http(GET => $_->{url})->{status} == 200 }
          @{ $m->{variants} }), 3, '... with its three variants');
is($fs->hits('garden.jpg'), 1, '... fetched once');
$fs->stop;

$t->no_alerts;
done_testing();
