# GET .../images (ordered by order), DELETE .../images {imageIds} (ids of
# other accounts and unknown ids skipped; the file leaves the listing and
# the store) and PATCH .../images/reorder (first id order 0, ...; unknown
# id IMAGE_NOT_FOUND, nothing changes); property.updated in the outbox.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentalotTest;

my $t = MediaTest->start;
my $tenant = $t->tenant;
add_webhook($t, $tenant, 'http://127.0.0.1:9/hook');
my $p = property($t, 'Order flat', external_id => 'order-flat');
my $op = property($t, 'Other order flat', key => $t->other_key);

my (%id, %name);
for my $n (qw(a b c d)) {
    my $up = upload_image($t, $p, content => make_image($t, "$n.jpg", 200, 150),
                          name => "$n.jpg", alt => "alt $n");
    $id{$n} = $up->{image}{id};
    $name{ $id{$n} } = $n;
}
my $other = upload_image($t, $op, content => make_image($t, 'o.jpg', 200, 150),
                         key => $t->other_key);

sub order { join ' ', map { ($name{ $_->{id} } // $_->{id}) . ":$_->{order}" }
                      @{ images($t, $p) } }
sub listing_order {
    my $res = $t->api(GET => '/api/v1/listings/order-flat');
    my %by_media = map { media_id($t, $_) => $name{$_} } keys %name;
    return join ' ', map { ($by_media{ $_->{id} } // $_->{id}) . ":$_->{order}" }
                     @{ $res->{json}{files} || [] };
}
sub events { scalar grep { $_->{event} eq 'property.updated' }
             @{ webhook_events($t, $tenant) } }

my $res = rl_api($t, GET => "/api/v1/properties/$p/images");
is($res->{status}, 200, 'GET .../images: 200');
my @diff = json_match($res->{json}, { data => [ map {
    { id => $id{$_}, url => '~^http://127\.0\.0\.1:\d+/files/images/',
      altText => "alt $_", order => ord($_) - ord('a') } } qw(a b c d) ] });
ok(!@diff, '... {data: [{id, url, altText, order}]} by order')
    or diag(join "\n", @diff, $res->{content});
is(listing_order(), 'a:0 b:1 c:2 d:3', 'the listing has the same files in the same order');

# --- reorder ----------------------------------------------------------------
my $ev = events();
$res = rl_api($t, PATCH => "/api/v1/properties/$p/images/reorder",
              { imageIds => [ @id{qw(c a d b)} ] });
is($res->{status}, 200, 'reorder: 200') or diag($res->{content});
is($res->{content}, '{"ok":true}', '... {"ok":true}');
is(order(), 'c:0 a:1 d:2 b:3', '... the new order');
is(listing_order(), 'c:0 a:1 d:2 b:3', '... also in the listing');
is(events(), $ev + 1, '... one property.updated event');

$res = rl_api($t, PATCH => "/api/v1/properties/$p/images/reorder",
              { imageIds => [ $id{b} ] });
is($res->{status}, 200, 'reorder naming one image: 200');
is(order(), 'b:0 c:1 a:2 d:3', '... it goes first, the others keep their order');

for my $case (
    [ 'an unknown id', [ $id{a}, '00000000-0000-4000-8000-000000000000' ], 422, 'IMAGE_NOT_FOUND' ],
    [ "another tenant's image", [ $id{a}, $other->{image}{id} ], 422, 'IMAGE_NOT_FOUND' ],
    [ 'a string that is not an id', [ 'x' ], 422, 'IMAGE_NOT_FOUND' ],
    [ 'imageIds not an array', $id{a}, 422, 'VALIDATION_ERROR' ],
    [ 'an empty array', [], 422, 'VALIDATION_ERROR' ],
    [ '21 ids', [ ($id{a}) x 21 ], 422, 'VALIDATION_ERROR' ],
    [ 'a number in imageIds', [ 5 ], 422, 'VALIDATION_ERROR' ],
) {
    my ($name, $ids, $status, $code) = @$case;
    $ev = events();
    $res = rl_api($t, PATCH => "/api/v1/properties/$p/images/reorder", { imageIds => $ids });
    is($res->{status}, $status, "reorder with $name: $status") or diag($res->{content});
    is(err_code($res), $code, "... $code");
    is(order(), 'b:0 c:1 a:2 d:3', '... the order is unchanged');
    is(events(), $ev, '... no event');
}
$res = rl_api($t, PATCH => "/api/v1/properties/$op/images/reorder",
              { imageIds => [ $id{a} ] });
is(err_code($res), 'PROPERTY_NOT_FOUND', "reorder on another tenant's property: PROPERTY_NOT_FOUND");

# --- delete -----------------------------------------------------------------
my $mid_c = media_id($t, $id{c});
my @objects = split /\n/, $t->psql("SELECT object_key FROM media WHERE id = $mid_c");
ok(-f $t->dir . "/store/$objects[0]", 'the original of c is in the store');

for my $case (
    [ 'imageIds not an array', { imageIds => $id{c} }, 'VALIDATION_ERROR' ],
    [ '21 ids', { imageIds => [ ($id{c}) x 21 ] }, 'VALIDATION_ERROR' ],
    [ 'no imageIds', {}, 'VALIDATION_ERROR' ],
) {
    my ($name, $body, $code) = @$case;
    $res = rl_api($t, DELETE => "/api/v1/properties/$p/images", $body);
    is($res->{status}, 422, "delete with $name: 422") or diag($res->{content});
    is(err_code($res), $code, "... $code");
}
is(order(), 'b:0 c:1 a:2 d:3', 'the refused deletes removed nothing');

$ev = events();
$res = rl_api($t, DELETE => "/api/v1/properties/$p/images",
    { imageIds => [ $id{c}, $other->{image}{id}, '7b0e4a4e-3c2d-4f7e-9a1b-2c3d4e5f6a7b' ] });
is($res->{status}, 200, 'delete [own, another tenant\'s, random uuid]: 200')
    or diag($res->{content});
is($res->{content}, '{"data":{"deleted":1}}', '... {"data":{"deleted":1}}');
is(order(), 'b:0 a:1 d:2', '... c is gone, the order stays contiguous');
is(listing_order(), 'b:0 a:1 d:2', '... and it left the listing');
is(events(), $ev + 1, '... one property.updated event');
is($t->api(GET => "/api/v1/media/$mid_c")->{status}, 404, '... the media file is gone');
is(scalar @{ images($t, $op, key => $t->other_key) }, 1,
   "the other tenant's image is untouched");
ok($t->wait_until(sub { !-e $t->dir . "/store/$objects[0]" }, timeout => 30),
   'the stored original is removed');

$res = rl_api($t, DELETE => "/api/v1/properties/$p/images", { imageIds => [ $id{c} ] });
is($res->{content}, '{"data":{"deleted":0}}', 'deleting it again: deleted 0');
$res = rl_api($t, DELETE => "/api/v1/properties/$op/images", { imageIds => [ $id{a} ] },
              key => $t->other_key);
is($res->{content}, '{"data":{"deleted":0}}', "the other tenant deleting our id on its property: deleted 0");
is(order(), 'b:0 a:1 d:2', '... ours is still there');
$res = rl_api($t, DELETE => "/api/v1/properties/$op/images", { imageIds => [ $id{a} ] });
is(err_code($res), 'PROPERTY_NOT_FOUND', "delete on another tenant's property: PROPERTY_NOT_FOUND");

$res = rl_api($t, DELETE => "/api/v1/properties/$p/images",
              { imageIds => [ @id{qw(a b d)} ] });
is($res->{content}, '{"data":{"deleted":3}}', 'delete the rest: deleted 3');
is_deeply(images($t, $p), [], 'GET .../images: an empty list');
is($t->psql("SELECT count(*) FROM media WHERE tenant_id = $tenant"), 0,
   'no media rows of the tenant are left');

$t->no_alerts;
done_testing();
