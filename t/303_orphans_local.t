# Orphans with the local store: an upload PUT through a signed URL and
# never confirmed is removed (object and uploads row) by the worker once
# older than upload_url_ttl + orphan_margin; a fresh one and confirmed
# ones stay.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentixTest;

my $t = MediaTest->start;
my $old = $t->upload(content => make_image($t, 'old.jpg', 200, 100),
                     name => 'old.jpg', no_confirm => 1);
my $fresh = $t->upload(content => make_image($t, 'fresh.jpg', 200, 100),
                       name => 'fresh.jpg', no_confirm => 1);
my $kept = $t->upload(content => make_image($t, 'kept.jpg', 200, 100),
                      name => 'kept.jpg');
my $tenant = $t->tenant;
my ($ko, $kf, $kk) = map { "$tenant/$_->{name}" } $old, $fresh, $kept;
ok(-f store_file($t, $_), "$_ stored") for $ko, $kf, $kk;

$t->psql("UPDATE uploads SET uploaded_at = now() - interval '2 hours' WHERE object_key = '$ko'");
ok($t->wait_until(sub { !-e store_file($t, $ko) }, timeout => 20),
   'an expired unconfirmed upload leaves the store');
is($t->psql("SELECT count(*) FROM uploads WHERE object_key = '$ko'"), 0,
   '... and uploads');
ok(-f store_file($t, $kk), 'a confirmed upload stays, however old');
is($t->wait_optimized($kept->{media_id})->{optimization}, 'success',
   '... and is optimized');
$t->psql("UPDATE uploads SET uploaded_at = now() WHERE object_key = '$kf'");
sleep 6;
ok(-f store_file($t, $kf), 'a fresh unconfirmed upload stays');
my $c = $t->confirm($fresh);
ok($c->{json}{results}[0]{success}, '... and can still be confirmed')
    or diag($c->{content});

$t->no_alerts;
done_testing();
