# The bucket sweep (s3): an object PUT with a presigned URL and never
# confirmed is unknown to the database (only a confirm records an upload);
# the worker lists the bucket every s3_sweep_interval (page by page) and
# removes such objects once older than upload_url_ttl + orphan_margin.  Confirmed
# originals, their variants and objects not shaped like our uploads stay;
# a confirm after the sweep reports the file as not uploaded.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentixTest;
use S3Test;
use HTTP::Tiny;

# URLs valid 3 s, a 1 s margin, a sweep every second
my $t = S3Test->start(upload_ttl => '3s', env => {
    MEDIA_WORKER_EXTRA => "orphan_margin = 1\ns3_sweep_interval = 1" });
my $bucket = S3Test::bucket_url();
my $tenant = $t->tenant;
my $jpeg = make_image($t, 'photo.jpg', 300, 200);

# A full first page of the listing (1,000 objects) that sorts before our
# keys ("0" < any tenant id), in place before anything of ours is old
# enough: the abandoned upload is only on the second page, reached with
# the continuation token.
my $filler = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
my $filled = grep { $filler->put("$bucket/0-filler/$_", { content => 'x' })
                        ->{success} } 1000 .. 1999;
is($filled, 1000, '1,000 objects before ours in the listing');

my $res = $t->api(POST => '/api/v1/media/request-upload-url', { files => [
    { fileName => 'abandoned.jpg', size => length $jpeg,
      contentType => 'image/jpeg' },
    { fileName => 'kept.jpg', size => length $jpeg,
      contentType => 'image/jpeg' },
] });
is($res->{status}, 200, 'request-upload-url') or diag($res->{content});
my ($abandoned, $kept) = @{ $res->{json}{upload} };
my $uuid = $res->{json}{uuid};
for my $u ($abandoned, $kept) {
    my $put = $t->http(PUT => $u->{url}, body => $jpeg,
                       headers => { 'Content-Type' => 'image/jpeg' });
    is($put->{status}, 200, "PUT $u->{generatedFileName} to the bucket")
        or diag($put->{content});
}
my $abandoned_key = "$tenant/$abandoned->{generatedFileName}";
my $kept_key = "$tenant/$kept->{generatedFileName}";

my $c = $t->api(POST => '/api/v1/media/bulk', { operations => [
    { op => 'confirm-upload', uuid => $uuid,
      generatedFileName => $kept->{generatedFileName} } ] });
ok($c->{json}{results}[0]{success}, 'kept.jpg confirmed')
    or diag($c->{content});
my $kept_id = $c->{json}{results}[0]{mediaId};
is($t->wait_optimized($kept_id, timeout => 60)->{optimization}, 'success',
   '... and optimized');

# Not ours: another application's object in a shared bucket, and one in
# our tenant's folder whose name is not an upload's.
for my $key ('reports/2026/summary.txt', "$tenant/notes.txt") {
    my $put = $t->http(PUT => "$bucket/$key", body => 'not ours');
    is($put->{status}, 200, "PUT $key (not an upload)")
        or diag($put->{content});
}

ok($t->wait_until(sub { !S3Test::object_exists($abandoned_key) },
                  timeout => 30),
   'the upload never confirmed leaves the bucket');
is($t->psql("SELECT count(*) FROM storage_garbage"), 0,
   '... and the removal queue is empty again');
ok(S3Test::object_exists($kept_key), 'the confirmed original stays');
ok(S3Test::object_exists("$tenant/v/$kept_id/$_.webp"),
   "... and its $_ px variant") for 128, 512, 1024;
ok(S3Test::object_exists($_), "$_ stays")
    for 'reports/2026/summary.txt', "$tenant/notes.txt", '0-filler/1999';

$c = $t->api(POST => '/api/v1/media/bulk', { operations => [
    { op => 'confirm-upload', uuid => $uuid,
      generatedFileName => $abandoned->{generatedFileName} } ] });
ok(!$c->{json}{results}[0]{success},
   'a confirm after the sweep: not uploaded') or diag($c->{content});
is($c->{json}{results}[0]{error}{body}{error_code} // '', 'UPLOAD_NOT_FOUND',
   '... UPLOAD_NOT_FOUND');
like(MediaTest::slurp($t->dir . '/log/worker.log') // '',
     qr/bucket sweep: 1 object\(s\) uploaded and never confirmed/,
     'the worker said what it removed');

# The race between a confirm and the sweep, in SQL: a key already queued
# for removal is not recorded as uploaded by the confirm's HEAD.
my $racing = "$tenant/" . ('a' x 32) . '_racing.jpg';
$t->psql("BEGIN; INSERT INTO storage_garbage (object_key) VALUES ('$racing');
          SELECT media_upload_received($tenant, '$racing', 'image/jpeg', 10);
          COMMIT");
is($t->psql("SELECT count(*) FROM uploads WHERE object_key = '$racing'"), 0,
   'a key being removed is not recorded as an upload');

$t->no_alerts;
done_testing();
