# The Rentalot API with media_storage s3 against s3rver: presign and
# presign-batch (every uploadUrl checked by the independent SigV4
# verifier), PUT, confirm and confirm-batch (HEAD), optimize, images
# readable through s3rver, delete (the objects leave the bucket),
# UPLOAD_NOT_FOUND for a key never uploaded, and the orphan sweep: an
# upload recorded but never confirmed leaves the bucket once expired.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentalotTest;
use S3Test;

my $t = S3Test->start;
my $bucket = S3Test::bucket_url();
my $p = property($t, 'S3 flat');

my $jpeg = make_image($t, 'kitchen.jpg', 640, 480);
my $png = make_image($t, 'bath.png', 320, 240);
my $res = presign($t, $p, { fileName => 'kitchen.jpg', contentType => 'image/jpeg',
                            sizeBytes => length $jpeg });
is($res->{status}, 200, 'presign') or diag($res->{content});
my $one = { %{ $res->{json}{data} }, type => 'image/jpeg', size => length $jpeg };
like($one->{uploadUrl}, qr{^\Q$bucket/$one->{r2Key}\E\?}, 'uploadUrl is the bucket object r2Key');

$res = rl_api($t, POST => "/api/v1/properties/$p/images/presign-batch", { images => [
    { fileName => 'bath.png', contentType => 'image/png', sizeBytes => length $png },
    { fileName => 'never.jpg', contentType => 'image/jpeg', sizeBytes => 999 } ] });
is($res->{status}, 200, 'presign-batch') or diag($res->{content});
my ($two, $never) = @{ $res->{json}{data} };
@$two{qw(type size)} = ('image/png', length $png);

my @v = S3Test::verify([$one->{uploadUrl}, 'image/jpeg', length $jpeg],
                       [$two->{uploadUrl}, 'image/png', length $png],
                       [$never->{uploadUrl}, 'image/jpeg', 999]);
is_deeply(\@v, [('ok') x 3], 'every uploadUrl verifies with @smithy/signature-v4')
    or diag(join "\n", @v);
@v = S3Test::verify([$two->{uploadUrl}, 'image/jpeg', length $png]);
like($v[0], qr/^mismatch/, '... and not with another content type');

for my $u ($one, $two) {
    my $put = put_file($t, $u->{uploadUrl}, $u->{type} eq 'image/png' ? $png : $jpeg,
                       $u->{type});
    is($put->{status}, 200, "PUT $u->{r2Key}") or diag($put->{content});
}

# confirm, then confirm-batch with the key never uploaded
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm", confirm_body($one));
is($res->{status}, 201, 'confirm') or diag($res->{content});
my $img1 = $res->{json}{data};
like($img1->{url}, qr{^\Q$bucket\E/}, '... its url is in the bucket');
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm",
              { r2Key => $never->{r2Key}, contentType => 'image/jpeg', sizeBytes => 999 });
is($res->{status}, 422, 'confirm of a key never uploaded: 422');
is(err_code($res), 'UPLOAD_NOT_FOUND', '... UPLOAD_NOT_FOUND');
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm-batch",
              { images => [ confirm_body($two) ] });
is($res->{status}, 201, 'confirm-batch') or diag($res->{content});
my $img2 = $res->{json}{data}[0];

# optimized: variants in the bucket, readable through s3rver
for my $img ($img1, $img2) {
    my $id = media_id($t, $img->{id});
    my $m = $t->wait_optimized($id, timeout => 60);
    is($m->{optimization}, 'success', "image $img->{id} optimized") or diag(explain $m);
    is(scalar(grep { $t->http(GET => $_->{url})->{content} =~ /^RIFF....WEBP/s }
              @{ $m->{variants} }), 3, '... three WebP variants read through s3rver');
}
is($t->http(GET => $img1->{url})->{content}, $jpeg, 'the original reads back');

# delete: the objects leave the bucket
my $id1 = media_id($t, $img1->{id});
my @keys = ($one->{r2Key}, split /\n/, $t->psql(
    "SELECT object_key FROM media_variants WHERE media_id = $id1"));
is(scalar @keys, 4, 'an original and three variants');
$res = rl_api($t, DELETE => "/api/v1/properties/$p/images", { imageIds => [ $img1->{id} ] });
is($res->{status}, 200, 'delete') or diag($res->{content});
ok($t->wait_until(sub { !grep { S3Test::object_exists($_) } @keys }, timeout => 20),
   '... its objects are gone from the bucket');
ok(S3Test::object_exists($two->{r2Key}), 'the other image stays');

# --- orphans: recorded by a confirm's HEAD, never confirmed -------------------
my $jpeg2 = make_image($t, 'orphan.jpg', 200, 100);
$res = presign($t, $p, { fileName => 'orphan.jpg', contentType => 'image/jpeg',
                         sizeBytes => length $jpeg2 });
my $orphan = $res->{json}{data};
put_file($t, $orphan->{uploadUrl}, $jpeg2, 'image/jpeg');
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm",
              { r2Key => $orphan->{r2Key}, contentType => 'image/png',
                sizeBytes => length $jpeg2 });
is(err_code($res), 'CONTENT_TYPE_MISMATCH', 'a confirm with the wrong type fails');
is($t->psql("SELECT count(*) FROM uploads WHERE object_key = '$orphan->{r2Key}' "
            . "AND confirmed_at IS NULL"), 1, '... the HEAD recorded the upload');
# younger than upload_url_ttl + orphan_margin: kept
sleep 6;
ok(S3Test::object_exists($orphan->{r2Key}), 'a fresh unconfirmed upload is kept');
$t->psql("UPDATE uploads SET uploaded_at = now() - interval '2 hours' "
         . "WHERE object_key = '$orphan->{r2Key}'");
ok($t->wait_until(sub { !S3Test::object_exists($orphan->{r2Key}) }, timeout => 20),
   'once expired, the worker removes the object from the bucket');
is($t->psql("SELECT count(*) FROM uploads WHERE object_key = '$orphan->{r2Key}'"), 0,
   '... and its row');
ok(S3Test::object_exists($two->{r2Key}), 'confirmed images are untouched');

$t->no_alerts;
done_testing();
