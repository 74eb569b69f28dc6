# POST .../images/presign-batch and .../images/confirm-batch: the documented
# array shapes, 2 to 20 entries (21 and non-arrays are 422), a batch that
# fails on one entry writes nothing, and one property.updated webhook event
# in the outbox for a confirm-batch.
#
# This file checks the outbox rows (webhook_events) the API writes in the
# transaction of the change; their delivery is t/209_webhooks.t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;
use RentalotTest;

my $t = MediaTest->start;
my $tenant = $t->tenant;
my $p = property($t, 'Batch flat');
my $op = property($t, 'Other batch flat', key => $t->other_key);
my $endpoint = add_webhook($t, $tenant, 'http://127.0.0.1:9/hook');
like($endpoint, qr/^\d+$/, 'a webhook endpoint registered with SQL');

sub files {
    my ($n, %o) = @_;
    return [ map { { fileName => "room-$_.jpg", contentType => 'image/jpeg',
                     sizeBytes => 1000 + $_, %o } } 1 .. $n ];
}

# --- presign-batch --------------------------------------------------------
my $res = rl_api($t, POST => "/api/v1/properties/$p/images/presign-batch",
    { images => [
        { fileName => 'kitchen.jpg', contentType => 'image/jpeg', sizeBytes => 1500000 },
        { fileName => 'bath.png', contentType => 'image/png', sizeBytes => 800000 } ] });
is($res->{status}, 200, 'presign-batch of 2: 200') or diag($res->{content});
my @diff = json_match($res->{json}, { data => [
    { fileName => 'kitchen.jpg',
      uploadUrl => "~^http://127\\.0\\.0\\.1:" . $t->port
                   . "/upload/images/$tenant/$p/[0-9a-f]{32}\\.jpg\\?",
      r2Key => "~^images/$tenant/$p/[0-9a-f]{32}\\.jpg\$" },
    { fileName => 'bath.png', uploadUrl => '*string',
      r2Key => "~^images/$tenant/$p/[0-9a-f]{32}\\.png\$" } ] });
ok(!@diff, '... {data: [{fileName, uploadUrl, r2Key}]} in request order')
    or diag(join "\n", @diff, $res->{content});

$res = rl_api($t, POST => "/api/v1/properties/$p/images/presign-batch",
              { images => files(20) });
is($res->{status}, 200, 'presign-batch of 20: 200') or diag($res->{content});
my @keys = map { $_->{r2Key} } @{ $res->{json}{data} || [] };
is(scalar @keys, 20, '... 20 entries');
is(scalar(keys %{{ map { $_ => 1 } @keys }}), 20, '... 20 distinct r2Keys');

for my $case (
    [ '21 entries', { images => files(21) }, 'VALIDATION_ERROR' ],
    [ 'an empty array', { images => [] }, 'VALIDATION_ERROR' ],
    [ 'images not an array', { images => files(1)->[0] }, 'VALIDATION_ERROR' ],
    [ 'images a string', { images => 'kitchen.jpg' }, 'VALIDATION_ERROR' ],
    [ 'images missing', { files => files(2) }, 'VALIDATION_ERROR' ],
    [ 'an entry not an object', { images => [ files(1)->[0], 'x' ] },
      'VALIDATION_ERROR' ],
    [ 'an entry without fileName',
      { images => [ files(1)->[0], { contentType => 'image/jpeg', sizeBytes => 1 } ] },
      'VALIDATION_ERROR' ],
    [ 'an entry of type image/gif',
      { images => [ files(1)->[0], { fileName => 'a.gif',
                    contentType => 'image/gif', sizeBytes => 10 } ] },
      'INVALID_CONTENT_TYPE' ],
    [ 'an entry over 10 MB',
      { images => [ files(1)->[0], { fileName => 'a.jpg',
                    contentType => 'image/jpeg', sizeBytes => 10485761 } ] },
      'FILE_TOO_LARGE' ],
) {
    my ($name, $body, $code) = @$case;
    $res = rl_api($t, POST => "/api/v1/properties/$p/images/presign-batch", $body);
    is($res->{status}, 422, "presign-batch, $name: 422") or diag($res->{content});
    is(err_code($res), $code, "... $code");
}
$res = rl_api($t, POST => "/api/v1/properties/$op/images/presign-batch",
              { images => files(2) });
is(err_code($res), 'PROPERTY_NOT_FOUND',
   "presign-batch on another tenant's property: PROPERTY_NOT_FOUND");
$res = rl_api($t, POST => "/api/v1/properties/$p/images/presign-batch",
              '{"images": [');
is($res->{status}, 400, 'presign-batch with malformed JSON: 400');
is(err_code($res), 'INVALID_JSON', '... INVALID_JSON');

# --- confirm-batch --------------------------------------------------------
my @ups = map { upload_image($t, $p, content => make_image($t, "b$_.jpg", 200, 150),
                             name => "b$_.jpg", no_confirm => 1) } 1 .. 3;
my $never = presign($t, $p, { fileName => 'never.jpg', contentType => 'image/jpeg',
                              sizeBytes => 100 })->{json}{data}{r2Key};

my $images = sub { $t->psql("SELECT count(*) FROM listing_files WHERE listing_id = $p") };
my $events = sub { scalar grep { $_->{event} eq 'property.updated' }
                   @{ webhook_events($t, $tenant) } };
is($events->(), 0, 'no property.updated event before any confirm');

for my $case (
    [ '21 entries', { images => [ map { confirm_body($ups[0]) } 1 .. 21 ] },
      'VALIDATION_ERROR' ],
    [ 'images not an array', { images => confirm_body($ups[0]) }, 'VALIDATION_ERROR' ],
    [ 'an empty array', { images => [] }, 'VALIDATION_ERROR' ],
    [ 'one entry never uploaded',
      { images => [ confirm_body($ups[0]),
                    { r2Key => $never, contentType => 'image/jpeg', sizeBytes => 100 } ] },
      'UPLOAD_NOT_FOUND' ],
    [ 'one entry with the wrong size',
      { images => [ confirm_body($ups[0]), { %{ confirm_body($ups[1]) },
                    sizeBytes => $ups[1]{size} + 1 } ] },
      'SIZE_MISMATCH' ],
    [ 'one entry of another property',
      { images => [ confirm_body($ups[0]), { %{ confirm_body($ups[1]) },
                    r2Key => "images/$tenant/$op/0123456789abcdef0123456789abcdef.jpg" } ] },
      'INVALID_R2_KEY' ],
    [ 'an altText of 501 characters',
      { images => [ confirm_body($ups[0]), confirm_body($ups[1], alt => 'a' x 501) ] },
      'VALIDATION_ERROR' ],
) {
    my ($name, $body, $code) = @$case;
    $res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm-batch", $body);
    is($res->{status}, 422, "confirm-batch, $name: 422") or diag($res->{content});
    is(err_code($res), $code, "... $code");
}
is($images->(), 0, 'the refused confirm-batches attached no image');
is($t->psql("SELECT count(*) FROM media WHERE object_key LIKE 'images/$tenant/$p/%'"),
   0, '... and made no media row');
is($events->(), 0, '... and emitted no event');

$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm-batch",
    { images => [ confirm_body($ups[0], alt => 'Kitchen'), confirm_body($ups[1]) ] });
is($res->{status}, 201, 'confirm-batch of 2: 201') or diag($res->{content});
my $url = 'http://127.0.0.1:' . $t->port . '/files/';
my $uuid = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
@diff = json_match($res->{json}, { data => [
    { id => "~$uuid", url => $url . $ups[0]{r2Key}, altText => 'Kitchen', order => 0 },
    { id => "~$uuid", url => $url . $ups[1]{r2Key}, altText => undef, order => 1 } ] });
ok(!@diff, '... {data: [{id, url, altText, order}]} in request order')
    or diag(join "\n", @diff, $res->{content});
ok(!defined $res->{headers}{location}, '... no Location header for a batch');
my @ids = map { $_->{id} } @{ $res->{json}{data} || [] };

is($images->(), 2, 'two images attached');
my @ev = grep { $_->{event} eq 'property.updated' } @{ webhook_events($t, $tenant) };
is(scalar @ev, 1, 'the confirm-batch emitted exactly one property.updated event');
@diff = json_match($ev[0] && $ev[0]{payload}, { event => 'property.updated',
    createdAt => '*string', data => { propertyId => $p + 0, imageCount => 2 } });
ok(!@diff, '... its payload: {event, createdAt, data: {propertyId, imageCount}}')
    or diag(join "\n", @diff, encode_json($ev[0] // {}));
is($ev[0] && $ev[0]{state}, 'pending', '... pending in the outbox');
is($t->psql("SELECT endpoint_id FROM webhook_events WHERE event = 'property.updated'"),
   $endpoint, '... for the registered endpoint');

# the same batch again: the same images, nothing new
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm-batch",
    { images => [ confirm_body($ups[0], alt => 'Kitchen'), confirm_body($ups[1]) ] });
is($res->{status}, 201, 'the same confirm-batch again: 201');
is_deeply([ map { $_->{id} } @{ $res->{json}{data} || [] } ], \@ids,
          '... the same image ids');
is($images->(), 2, '... no new image');

# a single confirm: one more event; the other tenant gets none
$res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm",
              confirm_body($ups[2]));
is($res->{status}, 201, 'a single confirm: 201');
is($res->{json}{data}{order}, 2, '... order 2');
@ev = grep { $_->{event} eq 'property.updated' } @{ webhook_events($t, $tenant) };
ok(@ev >= 2 && $ev[-1]{payload}{data}{imageCount} == 3,
   '... a property.updated event with imageCount 3')
    or diag(encode_json(\@ev));
is(scalar @{ webhook_events($t, $t->other_tenant) }, 0,
   'no event for the other tenant (it has no endpoint)');

is_deeply([ map { $_->{order} } @{ images($t, $p) } ], [0, 1, 2],
          'GET .../images: orders 0, 1, 2');

$t->no_alerts;
done_testing();
