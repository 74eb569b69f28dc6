# The event loop never waits for PostgreSQL.  With one nginx worker
# process, a confirm-upload stuck behind a row lock held by another session
# must not delay other requests; when the lock goes, it completes.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;

my $t = MediaTest->start(workers => 1);

my $locked = $t->upload(content => 'L' x 100, name => 'locked.jpg',
                        no_confirm => 1);
my $ready = $t->upload(content => 'R' x 100, name => 'ready.jpg');
my $object_key = $t->tenant . "/$locked->{name}";

# Warm up: the key is cached and the connection pool is open.
is($t->api(GET => "/api/v1/media/$ready->{media_id}")->{status}, 200,
   'GET works before the lock');

my $s = $t->psql_session;
$s->send('BEGIN;');
$s->send("SELECT 1 FROM uploads WHERE object_key = '$object_key' FOR UPDATE;",
         qr/^1$/m, 10);

my $blocked = $t->http_in_background(POST => '/api/v1/media/bulk',
    timeout => 30,
    headers => { Authorization => 'ApiKey ' . $t->key,
                 'Content-Type' => 'application/json' },
    body => JSON::PP->new->encode({ operations => [{
        op => 'confirm-upload', uuid => $locked->{uuid},
        generatedFileName => $locked->{name} }] }));

ok($t->wait_until(sub {
       $t->psql("SELECT count(*) FROM pg_stat_activity "
                . "WHERE datname = 'media' AND wait_event_type = 'Lock'") > 0
   }, timeout => 5),
   'the confirm-upload is waiting for the row lock in PostgreSQL');
ok(!$blocked->done, 'and has not answered');

# Meanwhile the only nginx worker answers everything else at once.
for my $i (1 .. 5) {
    my $get = $t->api(GET => "/api/v1/media/$ready->{media_id}", undef,
                      timeout => 5);
    is($get->{status}, 200, "GET /api/v1/media/:id while blocked ($i)");
    cmp_ok($get->{elapsed}, '<', 1,
           sprintf('... answered in %.3f s', $get->{elapsed}));
    my $url = $t->api(POST => '/api/v1/media/request-upload-url',
                      { files => [{ fileName => "n$i.jpg", size => 10,
                                    contentType => 'image/jpeg' }] },
                      timeout => 5);
    is($url->{status}, 200, "request-upload-url while blocked ($i)");
    cmp_ok($url->{elapsed}, '<', 1,
           sprintf('... answered in %.3f s', $url->{elapsed}));
    my $missing = $t->api(GET => '/api/v1/media/987654', undef, timeout => 5);
    is($missing->{status}, 404, "a 404 from the database while blocked ($i)");
    cmp_ok($missing->{elapsed}, '<', 1,
           sprintf('... answered in %.3f s', $missing->{elapsed}));
}
my $static = $t->http(GET => "/files/" . $t->tenant . "/$ready->{name}",
                      timeout => 5);
ok($static->{status} == 200 && $static->{elapsed} < 1,
   'static files are served while blocked');
ok(!$blocked->done, 'the blocked confirm-upload is still waiting');

# Release the lock: the waiting request completes, successfully.
$s->send('COMMIT;');
$s->close;
my $res = $blocked->wait(10);
ok($res, 'the confirm-upload answers once the lock is released');
is($res && $res->{status}, 200, '... with 200') or diag($res && $res->{content});
my $r = $res && $res->{json} ? $res->{json}{results}[0] : {};
ok($r->{success}, '... and success') or diag($res && $res->{content});
like($r->{mediaId} // '', qr/^\d+$/, '... and a mediaId');

$t->no_alerts;
done_testing();
