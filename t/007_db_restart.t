# PostgreSQL goes away: the API answers 503 DATABASE_UNAVAILABLE with
# Retry-After, quickly, also for a key not yet in the cache (never 401 or
# 500).  PostgreSQL comes back: nginx (not restarted) and the worker
# reconnect by themselves.
use strict;
use warnings;
use Test::More;
use IPC::Run qw(run timeout);
use MediaTest;

my $t = MediaTest->start(workers => 2);

my $png_file = $t->dir . '/small.png';
my ($out, $err);
run(['vips', 'black', $png_file, 64, 48, '--bands', 3], \undef, \$out, \$err,
    timeout(30)) or die "vips: $err";
my $png = MediaTest::slurp($png_file);

my $before = $t->upload(content => $png, type => 'image/png', name => 'a.png');
is($t->wait_optimized($before->{media_id})->{optimization}, 'success',
   'optimized before the outage');
my $pending = $t->upload(content => $png, type => 'image/png', name => 'b.png',
                         no_confirm => 1);
my $put_url = $t->api(POST => '/api/v1/media/request-upload-url',
    { files => [{ fileName => 'c.png', size => length $png,
                  contentType => 'image/png' }] })->{json}{upload}[0]{url};
my $fresh_key = $t->new_key($t->tenant);    # not used, so not cached
my $master = MediaTest::slurp($t->dir . '/nginx.pid');

$t->pg('stop');

sub unavailable {
    my ($res, $what) = @_;
    is($res->{status}, 503, "$what: 503") or diag($res->{content});
    is($res->{json}{error_code}, 'DATABASE_UNAVAILABLE',
       "$what: DATABASE_UNAVAILABLE");
    like($res->{headers}{'retry-after'} // '', qr/^\d+$/,
         "$what: Retry-After");
    cmp_ok($res->{elapsed}, '<', 6,
           sprintf("$what: answered in %.2f s", $res->{elapsed}));
}

for my $i (1 .. 3) {     # new connections: both nginx workers
    unavailable($t->api(GET => "/api/v1/media/$before->{media_id}"),
                "GET media, database down ($i)");
}
unavailable($t->confirm($pending), 'confirm-upload, database down');
unavailable($t->api(GET => "/api/v1/media/$before->{media_id}", undef,
                    key => $fresh_key),
            'a key not in the cache, database down');
unavailable($t->http(PUT => $put_url, body => $png,
                     headers => { 'Content-Type' => 'image/png' }),
            'signed PUT, database down');

$t->pg('start');

my $back = $t->wait_until(sub {
    $t->api(GET => "/api/v1/media/$before->{media_id}")->{status} == 200
}, timeout => 20, interval => 0.25);
ok($back, 'the API answers again once PostgreSQL is back');
my @status = map { $t->api(GET => "/api/v1/media/$before->{media_id}")
                     ->{status} } 1 .. 10;
is("@status", join(' ', (200) x 10), 'on every worker and connection');
is(MediaTest::slurp($t->dir . '/nginx.pid'), $master,
   'without restarting nginx');
is($t->api(GET => "/api/v1/media/$before->{media_id}", undef,
           key => $fresh_key)->{status}, 200, 'the uncached key works now');

# The upload flow works again end to end, and the worker picks up new jobs.
my $c = $t->confirm($pending);
ok($c->{json}{results}[0]{success}, 'confirm-upload works again')
    or diag($c->{content});
my $id = $c->{json}{results}[0]{mediaId} // 0;
is($t->wait_optimized($id, timeout => 60)->{optimization}, 'success',
   'the worker reconnected and optimized a new upload');
my $after = eval { $t->upload(content => $png, type => 'image/png',
                              name => 'd.png') };
ok($after && $after->{media_id}, 'a whole new upload works') or diag($@);

$t->no_alerts;
done_testing();
