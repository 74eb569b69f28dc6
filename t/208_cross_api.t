# One data model behind both APIs: a listing created with PUT
# /api/v1/listings is a property at /api/v1/properties/<its id>; an image
# confirmed through Rentalot is a file of GET /api/v1/listings/:externalId
# and a media file at GET /api/v1/media/:id (optimized by the worker); a
# file uploaded and attached through Rentix is an image of the property;
# deleting through either API removes it from both.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;
use RentixTest qw(listing_put);
use RentalotTest;

my $t = MediaTest->start;
my $tenant = $t->tenant;
my $jpeg = make_image($t, 'cross.jpg', 640, 480);

my $res = listing_put($t, { externalId => 'x', title => 'Cross listing' });
is($res->{status}, 200, 'PUT /api/v1/listings creates a listing') or diag($res->{content});
my $lid = $res->{json}{id};

$res = rl_api($t, GET => "/api/v1/properties/$lid");
is($res->{status}, 200, 'the listing is a property at /api/v1/properties/<id>')
    or diag($res->{content});
my @diff = json_match($res->{json}, { data => { id => $lid + 0, title => 'Cross listing',
    externalId => 'x', status => '*string', images => [] } });
ok(!@diff, '... {id, title, externalId: "x", status, images: []}')
    or diag(join "\n", @diff, $res->{content});
is(rl_api($t, GET => "/api/v1/properties/$lid", undef, key => $t->other_key)
       ->{json}{error_code}, 'PROPERTY_NOT_FOUND', "... not for the other tenant");

# --- Rentalot → Rentix ----------------------------------------------------------
my $up = upload_image($t, $lid, content => $jpeg, name => 'cross.jpg', alt => 'Hall');
like($up->{r2Key}, qr{^images/$tenant/$lid/[0-9a-f]{32}\.jpg$},
     'the r2Key is under images/<tenant>/<listing id>/');
my $mid = media_id($t, $up->{image}{id});
like($mid, qr/^\d+$/, 'the confirmed image is a media row');

my $m = $t->wait_optimized($mid, timeout => 60);
is($m->{optimization}, 'success', 'GET /api/v1/media/<mediaId>: optimized by the worker')
    or diag explain $m;
is($m->{contentType}, 'image/jpeg', '... image/jpeg');
is($m->{size}, length $jpeg, '... its size');
ok(ref $m->{variants} eq 'ARRAY' && @{ $m->{variants} } >= 1, '... with variants');

$res = $t->api(GET => '/api/v1/listings/x');
my @files = @{ $res->{json}{files} || [] };
is(scalar @files, 1, 'GET /api/v1/listings/x: one file') or diag($res->{content});
is($files[0] && $files[0]{id}, $mid + 0, '... the confirmed image');
is($files[0] && $files[0]{order}, 0, '... at order 0');
is($t->api(GET => "/api/v1/media/$mid", undef, key => $t->other_key)->{status}, 404,
   "the other tenant cannot GET the media file");

# --- Rentix → Rentalot ------------------------------------------------------------
my $rx = $t->upload(content => make_image($t, 'rentix.jpg', 320, 240), name => 'rentix.jpg',
                    external_id => 'rx-1');
$res = listing_put($t, { externalId => 'x', files => [ { id => $mid + 0 },
                                                        { id => $rx->{media_id} } ] });
is($res->{status}, 200, 'PUT /api/v1/listings attaches a Rentix upload') or diag($res->{content});
my $rx_uuid = $t->psql("SELECT uuid FROM media WHERE id = $rx->{media_id}");
my $imgs = images($t, $lid);
is_deeply([ map { [ $_->{id}, $_->{order} ] } @$imgs ],
          [ [ $up->{image}{id}, 0 ], [ $rx_uuid, 1 ] ],
          'GET /api/v1/properties/:id/images: both, the Rentix file by its uuid');
is($imgs->[0]{altText}, 'Hall', '... the altText kept by the listing update');
like($imgs->[1]{url} // '', qr{^http://127\.0\.0\.1:\d+/files/},
     '... the Rentix file has a url too');

# reorder through Rentalot shows in Rentix
$res = rl_api($t, PATCH => "/api/v1/properties/$lid/images/reorder",
              { imageIds => [ $rx_uuid, $up->{image}{id} ] });
is($res->{content}, '{"ok":true}', 'reorder through Rentalot');
is(join(',', map { $_->{id} } @{ $t->api(GET => '/api/v1/listings/x')->{json}{files} || [] }),
   "$rx->{media_id},$mid", '... the listing shows the new order');

# delete through Rentix leaves the property
is($t->api(DELETE => "/api/v1/media/$rx->{media_id}")->{status}, 200,
   'DELETE /api/v1/media/:id (Rentix)');
is_deeply([ map { [ $_->{id}, $_->{order} ] } @{ images($t, $lid) } ],
          [ [ $up->{image}{id}, 0 ] ], '... gone from the property, the order contiguous');

# delete through Rentalot leaves the listing and the media API
$res = rl_api($t, DELETE => "/api/v1/properties/$lid/images",
              { imageIds => [ $up->{image}{id} ] });
is($res->{content}, '{"data":{"deleted":1}}', 'DELETE .../images (Rentalot)');
is(scalar @{ $t->api(GET => '/api/v1/listings/x')->{json}{files} || [ 'x' ] }, 0,
   '... the listing has no files');
is($t->api(GET => "/api/v1/media/$mid")->{status}, 404, '... GET /api/v1/media/:id is 404');

# a property created through Rentalot is a listing
my $p = property($t, 'Made by Rentalot', external_id => 'made-by-rentalot');
$res = $t->api(GET => '/api/v1/listings/made-by-rentalot');
is($res->{status}, 200, 'a Rentalot property is GET /api/v1/listings/:externalId');
is($res->{json}{id}, $p, '... the same id');

$t->no_alerts;
done_testing();
