# Idempotency-Key on writes of both APIs: the same key and request replay
# the stored status and body without doing the work again; the same key
# with another request is 422 IDEMPOTENCY_KEY_REUSED; keys are per tenant;
# 256 characters is 400 INVALID_IDEMPOTENCY_KEY; a second request while the
# first with the key is still running is 409 IDEMPOTENCY_KEY_IN_PROGRESS
# (the first is held behind a row lock of its property), and once the
# first has finished a retry replays it.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;
use RentalotTest;

my $t = MediaTest->start(workers => 1);
my $tenant = $t->tenant;
my $JSON = JSON::PP->new->canonical;
sub count { $t->psql($_[0]) }

# --- POST /api/v1/properties ------------------------------------------------
my $body = { title => 'Idem flat', externalId => 'idem-1' };
my $r1 = rl_api($t, POST => '/api/v1/properties', $body, idem => 'create-1');
is($r1->{status}, 201, 'create with a key: 201') or diag($r1->{content});
my $r2 = rl_api($t, POST => '/api/v1/properties', $body, idem => 'create-1');
is($r2->{status}, 201, 'the same request with the same key: 201 again')
    or diag($r2->{content});
is($r2->{content}, $r1->{content}, '... the same body');
is(count("SELECT count(*) FROM listings WHERE title = 'Idem flat'"), 1,
   '... one property was created');
my $p = $r1->{json}{data}{id};

$r2 = rl_api($t, POST => '/api/v1/properties', { title => 'Idem flat 2' },
             idem => 'create-1');
is($r2->{status}, 422, 'the same key with another body: 422') or diag($r2->{content});
is(err_code($r2), 'IDEMPOTENCY_KEY_REUSED', '... IDEMPOTENCY_KEY_REUSED');
is(count("SELECT count(*) FROM listings WHERE title = 'Idem flat 2'"), 0,
   '... nothing created');

$r2 = rl_api($t, POST => "/api/v1/properties/$p/images/presign",
             { fileName => 'a.jpg', contentType => 'image/jpeg', sizeBytes => 10 },
             idem => 'create-1');
is(err_code($r2), 'IDEMPOTENCY_KEY_REUSED', 'the same key on another path: IDEMPOTENCY_KEY_REUSED');

$r2 = rl_api($t, POST => '/api/v1/properties', { title => 'Idem flat', externalId => 'idem-1' },
             idem => 'create-1', key => $t->other_key);
is($r2->{status}, 201, 'the other tenant with the same key runs normally: 201')
    or diag($r2->{content});
isnt($r2->{json}{data}{id}, $p, '... and gets its own property');
is(count("SELECT count(*) FROM listings WHERE title = 'Idem flat'"), 2,
   '... two properties in all');

$r2 = rl_api($t, POST => '/api/v1/properties', { title => 'Long key' }, idem => 'k' x 256);
is($r2->{status}, 400, 'a key of 256 characters: 400') or diag($r2->{content});
is(err_code($r2), 'INVALID_IDEMPOTENCY_KEY', '... INVALID_IDEMPOTENCY_KEY');
$r2 = rl_api($t, POST => '/api/v1/properties', { title => 'Long key' }, idem => 'k' x 255);
is($r2->{status}, 201, 'a key of 255 characters: 201') or diag($r2->{content});
$r2 = rl_api($t, POST => '/api/v1/properties', { title => 'Bad key' }, idem => "a b");
is($r2->{status}, 400, 'a key with a space: 400');
is(err_code($r2), 'INVALID_IDEMPOTENCY_KEY', '... INVALID_IDEMPOTENCY_KEY');
is(count("SELECT count(*) FROM listings WHERE title IN ('Bad key')"), 0,
   '... nothing created');

# an error is not stored: a retry runs again
$r2 = rl_api($t, POST => '/api/v1/properties', { title => 'Dup', externalId => 'idem-1' },
             idem => 'dup-1');
is(err_code($r2), 'DUPLICATE_EXTERNAL_ID', 'an error answer with a key: DUPLICATE_EXTERNAL_ID');
is(count("SELECT count(*) FROM idempotency_keys WHERE key = 'dup-1'"), 0,
   '... is not stored');

# --- presign: a retry gets the same r2Key ------------------------------------
my $jpeg = make_image($t, 'idem.jpg', 300, 200);
my $pre = { fileName => 'idem.jpg', contentType => 'image/jpeg', sizeBytes => length $jpeg };
$r1 = presign($t, $p, $pre, idem => 'presign-1');
$r2 = presign($t, $p, $pre, idem => 'presign-1');
is($r1->{status}, 200, 'presign with a key: 200') or diag($r1->{content});
is($r2->{status}, 200, 'presign again with the key: 200');
is($r2->{json}{data}{r2Key}, $r1->{json}{data}{r2Key}, '... the same r2Key');

# --- confirm twice: the same 201 and body, one image ---------------------------
my $up = { r2Key => $r1->{json}{data}{r2Key}, size => length $jpeg, type => 'image/jpeg' };
is(put_file($t, $r1->{json}{data}{uploadUrl}, $jpeg, 'image/jpeg')->{status}, 200, 'PUT');
my $cb = confirm_body($up, alt => 'Idem');
$r1 = rl_api($t, POST => "/api/v1/properties/$p/images/confirm", $cb, idem => 'confirm-1');
$r2 = rl_api($t, POST => "/api/v1/properties/$p/images/confirm", $cb, idem => 'confirm-1');
is($r1->{status}, 201, 'confirm with a key: 201') or diag($r1->{content});
is($r2->{status}, 201, 'the retry: 201') or diag($r2->{content});
is($r2->{content}, $r1->{content}, '... the same body');
is($r2->{headers}{location}, $r1->{headers}{location}, '... the same Location');
is(count("SELECT count(*) FROM listing_files WHERE listing_id = $p"), 1, '... one image');
is(count("SELECT count(*) FROM jobs j JOIN media m ON m.id = j.media_id "
         . "WHERE m.object_key = '$up->{r2Key}'"), 1, '... one optimize job');

# --- a request whose first is still running: 409 ----------------------------------
my $jpeg2 = make_image($t, 'idem2.jpg', 300, 200);
my $up2 = upload_image($t, $p, content => $jpeg2, name => 'idem2.jpg', no_confirm => 1);
my $cb2 = $JSON->encode(confirm_body($up2));
my %headers = (Authorization => 'ApiKey ' . $t->key, 'Content-Type' => 'application/json',
               'Idempotency-Key' => 'held-1');
# warm up this nginx worker's pool so that the held request is the only busy one
is(rl_api($t, GET => "/api/v1/properties/$p")->{status}, 200, 'GET before the lock');

my $s = $t->psql_session;
$s->send('BEGIN;');
$s->send("SELECT 1 FROM listings WHERE id = $p FOR UPDATE;", qr/^1$/m, 10);
my $held = $t->http_in_background(POST => "/api/v1/properties/$p/images/confirm",
                                  headers => \%headers, body => $cb2, timeout => 30);
ok($t->wait_until(sub {
       count("SELECT count(*) FROM pg_stat_activity WHERE datname = 'media' "
             . "AND wait_event_type = 'Lock'") > 0 }, timeout => 60),
   'the first confirm with the key waits for the property lock');
my $second = $t->http(POST => "/api/v1/properties/$p/images/confirm",
                      headers => \%headers, body => $cb2, timeout => 30);
is($second->{status}, 409, 'a second request with the key meanwhile: 409')
    or diag($second->{content});
is(err_code($second), 'IDEMPOTENCY_KEY_IN_PROGRESS', '... IDEMPOTENCY_KEY_IN_PROGRESS');
ok(!$held->done, '... and the first is still waiting');
$s->send('COMMIT;');
$s->close;
my $first = $held->wait(60);
ok($first, 'the first answers once the lock is released');
is($first && $first->{status}, 201, '... 201') or diag($first && $first->{content});
my $retry = $t->http(POST => "/api/v1/properties/$p/images/confirm",
                     headers => \%headers, body => $cb2);
is($retry->{status}, 201, 'a retry afterwards: 201') or diag($retry->{content});
is($retry->{content}, $first && $first->{content}, '... replays the first answer');
is(count("SELECT count(*) FROM media WHERE object_key = '$up2->{r2Key}'"), 1,
   '... one media row for the key');
is(count("SELECT count(*) FROM listing_files WHERE listing_id = $p"), 2, '... two images in all');

# --- reorder and delete replay ---------------------------------------------------
my @ids = map { $_->{id} } @{ images($t, $p) };
$r1 = rl_api($t, PATCH => "/api/v1/properties/$p/images/reorder",
             { imageIds => [ reverse @ids ] }, idem => 'reorder-1');
is($r1->{content}, '{"ok":true}', 'reorder with a key');
my $events = count("SELECT count(*) FROM webhook_events");
$r2 = rl_api($t, PATCH => "/api/v1/properties/$p/images/reorder",
             { imageIds => [ reverse @ids ] }, idem => 'reorder-1');
is($r2->{status}, 200, '... again: 200');
is($r2->{content}, '{"ok":true}', '... {"ok":true}');
$r1 = rl_api($t, DELETE => "/api/v1/properties/$p/images", { imageIds => [ $ids[0] ] },
             idem => 'delete-1');
$r2 = rl_api($t, DELETE => "/api/v1/properties/$p/images", { imageIds => [ $ids[0] ] },
             idem => 'delete-1');
is($r1->{content}, '{"data":{"deleted":1}}', 'delete with a key: deleted 1');
is($r2->{content}, '{"data":{"deleted":1}}', '... the retry replays deleted 1 (not 0)');

# --- Rentix: POST /api/v1/media/bulk with a key twice ----------------------------
my $ru = $t->upload(content => make_image($t, 'rentix.jpg', 300, 200), name => 'rentix.jpg',
                    no_confirm => 1);
my $bulk = { operations => [
    { op => 'confirm-upload', uuid => $ru->{uuid}, generatedFileName => $ru->{name},
      externalId => 'idem-bulk-1' },
    { op => 'upload-from-url', url => 'http://127.0.0.1:9/never.jpg', externalId => 'idem-bulk-2' },
] };
$r1 = rl_api($t, POST => '/api/v1/media/bulk', $bulk, idem => 'bulk-1');
$r2 = rl_api($t, POST => '/api/v1/media/bulk', $bulk, idem => 'bulk-1');
is($r1->{status}, 200, 'Rentix bulk with a key: 200') or diag($r1->{content});
is($r1->{json}{summary}{succeeded}, 2, '... both operations succeeded') or diag($r1->{content});
is($r2->{status}, 200, '... again: 200');
is($r2->{content}, $r1->{content}, '... the same body');
is(count("SELECT count(*) FROM media WHERE external_id LIKE 'idem-bulk-%'"), 2,
   '... the operations ran once');
is(count("SELECT count(*) FROM jobs j JOIN media m ON m.id = j.media_id "
         . "WHERE m.external_id LIKE 'idem-bulk-%'"), 2, '... one job each');
$r2 = rl_api($t, POST => '/api/v1/media/bulk', { operations => [ $bulk->{operations}[0] ] },
             idem => 'bulk-1');
is(err_code($r2), 'IDEMPOTENCY_KEY_REUSED', '... another body with the key: IDEMPOTENCY_KEY_REUSED');

$t->no_alerts;
done_testing();
