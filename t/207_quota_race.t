# The images-per-property quota (tenants.images_per_property): presign,
# presign-batch and confirm refuse current + requested > maxImages with 422
# IMAGE_LIMIT_REACHED, and the confirm check holds under a race: 50
# concurrent confirms of 50 distinct uploaded keys against a quota of 20
# leave exactly 20 images, the other 30 are 422 IMAGE_LIMIT_REACHED.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentalotTest;

my $t = MediaTest->start;
my $jpeg = make_image($t, 'q.jpg', 160, 120);

# --- a quota of 3 (the other tenant) -----------------------------------------
my ($ot, $ok) = ($t->other_tenant, $t->other_key);
set_limits($t, $ot, images => 3);
my $p = property($t, 'Small plan flat', key => $ok);
my $file = { fileName => 'q.jpg', contentType => 'image/jpeg', sizeBytes => length $jpeg };

my $res = rl_api($t, POST => "/api/v1/properties/$p/images/presign-batch",
                 { images => [ ($file) x 4 ] }, key => $ok);
is($res->{status}, 422, 'quota 3: presign-batch of 4 is 422') or diag($res->{content});
is(err_code($res), 'IMAGE_LIMIT_REACHED', '... IMAGE_LIMIT_REACHED');

$res = presign($t, $p, $file, key => $ok);
is($res->{json}{data}{maxImages}, 3, 'presign says maxImages 3') or diag($res->{content});

$res = rl_api($t, POST => "/api/v1/properties/$p/images/presign-batch",
              { images => [ ($file) x 3 ] }, key => $ok);
is($res->{status}, 200, 'presign-batch of 3: 200') or diag($res->{content});
my @three = map { { r2Key => $_->{r2Key}, uploadUrl => $_->{uploadUrl},
                    size => length $jpeg, type => 'image/jpeg' } }
            @{ $res->{json}{data} || [] };
# a fourth key, presigned while there was room
my $fourth = upload_image($t, $p, content => $jpeg, key => $ok, no_confirm => 1);
for my $up (@three) {
    is(put_file($t, $up->{uploadUrl}, $jpeg, 'image/jpeg')->{status}, 200, 'PUT');
}
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm-batch",
              { images => [ map { confirm_body($_) } @three ] }, key => $ok);
is($res->{status}, 201, 'confirm-batch of 3: 201') or diag($res->{content});

$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm",
              confirm_body($fourth), key => $ok);
is($res->{status}, 422, 'a fourth confirm: 422') or diag($res->{content});
is(err_code($res), 'IMAGE_LIMIT_REACHED', '... IMAGE_LIMIT_REACHED');
$res = presign($t, $p, $file, key => $ok);
is(err_code($res), 'IMAGE_LIMIT_REACHED', 'a presign at the limit: IMAGE_LIMIT_REACHED');
is(scalar @{ images($t, $p, key => $ok) }, 3, 'the property has 3 images');

# confirming one of the three again is not a new image: allowed at the limit
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm",
              confirm_body($three[0]), key => $ok);
is($res->{status}, 201, 'confirming an existing image again at the limit: 201')
    or diag($res->{content});

# another property of the tenant has its own room
my $p2 = property($t, 'Small plan flat 2', key => $ok);
$res = rl_api($t, POST => "/api/v1/properties/$p2/images/presign-batch",
              { images => [ ($file) x 3 ] }, key => $ok);
is($res->{status}, 200, 'the quota is per property: presign-batch of 3 elsewhere is 200');

# raising the limit makes room
set_limits($t, $ot, images => 4);
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm",
              confirm_body($fourth), key => $ok);
is($res->{status}, 201, 'limit raised to 4: the fourth confirm is 201') or diag($res->{content});

# --- the race: 50 confirms against a quota of 20 -------------------------------------
my $rp = property($t, 'Race flat');
my @ups = map { upload_image($t, $rp, content => $jpeg, name => "r$_.jpg",
                             no_confirm => 1) } 1 .. 50;
is(scalar(keys %{{ map { $_->{r2Key} => 1 } @ups }}), 50, '50 distinct uploaded keys');

my @res = parallel($t, 50, sub {
    my $i = shift;
    return rl_api($t, POST => "/api/v1/properties/$rp/images/confirm",
                  confirm_body($ups[$i]), timeout => 60);
});
my %status;
$status{ defined $_ ? $_->{status} : 'none' }++ for @res;
is($status{201}, 20, 'exactly 20 confirms succeeded')
    or diag(explain \%status);
is($status{422}, 30, 'the other 30 were refused');
is(scalar(grep { err_code($_) eq 'IMAGE_LIMIT_REACHED' } @res), 30,
   '... with IMAGE_LIMIT_REACHED');
is($t->psql("SELECT count(*) FROM listing_files WHERE listing_id = $rp"), 20,
   'the property has exactly 20 images');
is($t->psql("SELECT count(*) FROM media WHERE object_key LIKE 'images/"
            . $t->tenant . "/$rp/%'"), 20, '... and 20 media rows');
is_deeply([ sort { $a <=> $b } map { $_->{order} } @{ images($t, $rp) } ],
          [ 0 .. 19 ], '... with orders 0 to 19');
my %winners = map { $_->{json}{data}{id} => 1 } grep { $_ && $_->{status} == 201 } @res;
is_deeply([ sort keys %winners ], [ sort map { $_->{id} } @{ images($t, $rp) } ],
          '... exactly the images the 201 answers named');

$t->no_alerts;
done_testing();
