# Scale-out: two nginx edges (MEDIA_EDGES=2) and two worker processes
# (MEDIA_WORKERS=2) started by scripts/stack.sh against one PostgreSQL, one
# store and one sign.key.  A URL signed by one edge is accepted by the
# other; 40 uploads confirmed alternately on both edges are optimized once
# each, by both workers; a revoked key is refused by both edges after their
# key caches expire (auth_ttl 1s); with one edge stopped the other serves.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentixTest qw(make_image);

my ($port_b) = MediaTest::free_ports(1);
my $t = MediaTest->start(auth_ttl => '1s', concurrency => 2, env => {
    MEDIA_EDGES => 2, MEDIA_WORKERS => 2, MEDIA_EDGE_PORTS => $port_b });
my $dir = $t->dir;
my ($A, $B) = ($t->base, "http://127.0.0.1:$port_b");
my %name = ($A => 'edge A', $B => 'edge B');
my $JSON = $MediaTest::JSON;

# An API call on one edge: call($edge, METHOD, path, data, key => ...).
sub call {
    my ($edge, $method, $path, $data, %o) = @_;
    return $t->http($method, "$edge$path", headers => {
        Authorization => 'ApiKey ' . ($o{key} // $t->key),
        defined $data ? ('Content-Type' => 'application/json') : () },
        body => defined $data ? $JSON->encode($data) : undef);
}

# request-upload-url on edge $ask, PUT on edge $put (the URL rewritten to
# it), confirm-upload on edge $confirm; returns the media id.  Dies on error.
sub upload_via {
    my ($ask, $put, $confirm, $content, $name) = @_;
    my $res = call($ask, POST => '/api/v1/media/request-upload-url',
        { files => [{ fileName => $name, size => length $content,
                      contentType => 'image/jpeg' }] });
    die "request-upload-url: $res->{status} $res->{content}"
        unless $res->{status} == 200;
    my ($uuid, $up) = ($res->{json}{uuid}, $res->{json}{upload}[0]);
    die "the URL is not the asking edge's: $up->{url}"
        unless $up->{url} =~ s{^\Q$ask\E/upload/}{$put/upload/};
    my $p = $t->http(PUT => $up->{url}, body => $content,
                     headers => { 'Content-Type' => 'image/jpeg' });
    die "PUT: $p->{status} $p->{content}" unless $p->{status} == 200;
    my $c = call($confirm, POST => '/api/v1/media/bulk', { operations => [{
        op => 'confirm-upload', uuid => $uuid,
        generatedFileName => $up->{generatedFileName} }] });
    my $r = $c->{json}{results}[0];
    die "confirm-upload: $c->{status} $c->{content}"
        unless $c->{status} == 200 && $r->{success};
    return $r->{mediaId};
}

sub optimization {
    my ($edge, $id) = @_;
    my $res = call($edge, GET => "/api/v1/media/$id");
    return $res->{status} == 200 ? $res->{json}{optimization} : '';
}

sub pid_of { MediaTest::slurp("$dir/$_[0]") =~ /(\d+)/ ? $1 : die "$_[0]" }

my $jpeg = make_image($t, 'photo.jpg', 640, 480);

# --- both edges, one store and one database ---------------------------------

for my $edge ($A, $B) {
    my $res = call($edge, GET => '/api/v1/media/999999');
    is($res->{status}, 404, "$name{$edge} authenticates and queries the database");
}

my $res = call($B, POST => '/api/v1/media/request-upload-url',
    { files => [{ fileName => 'b.jpg', size => 10,
                  contentType => 'image/jpeg' }] });
like($res->{json}{upload}[0]{url}, qr{^\Q$B\E/upload/},
     "edge B's upload URLs point at edge B");

my $id = eval { upload_via($A, $B, $B, $jpeg, 'cross.jpg') };
ok($id, 'URL signed by edge A: PUT and confirm on edge B') or diag($@);
$t->wait_until(sub { optimization($A, $id) eq 'success' },
               timeout => 120, interval => 0.25);
my $m = call($A, GET => "/api/v1/media/$id")->{json};
is($m->{optimization}, 'success', 'edge A reads it optimized');
like($m->{originalUrl}, qr{^\Q$A\E/files/}, "edge A's public URLs are its own");
(my $on_b = $m->{originalUrl}) =~ s{^\Q$A\E/}{$B/};
my $orig = $t->http(GET => $on_b);
ok($orig->{status} == 200 && $orig->{content} eq $jpeg,
   'edge B serves the same original');

# --- 40 uploads on alternate edges, two workers -----------------------------

# Both workers are stopped while the 40 jobs are queued, then woken together
# (the NOTIFYs wait in PostgreSQL), so that both take part.
my @workers = map { pid_of($_) } 'worker.pid', 'worker-2.pid';
isnt($workers[0], $workers[1], 'two worker processes');
kill 'STOP', @workers;
my @ids;
my $ok = eval {
    for my $i (0 .. 39) {
        my ($x, $y) = $i % 2 ? ($B, $A) : ($A, $B);
        push @ids, upload_via($x, $y, $x, $jpeg, "p$i.jpg");
    }
    1;
};
kill 'CONT', @workers;
ok($ok, '40 uploads asked and confirmed on alternate edges, PUT on the other')
    or diag($@);
is(scalar @ids, 40, '40 media ids');
my $in = join ',', @ids, 0;

$t->wait_until(sub {
    $t->psql("SELECT count(*) FROM media WHERE id IN ($in)
               AND optimization IN ('success', 'failed')") == 40
}, timeout => 300, interval => 0.5);
is($t->psql("SELECT count(*) FROM media WHERE id IN ($in)
              AND optimization = 'success'"), 40, 'all 40 media end success');
my @wrong = grep { optimization($_ % 2 ? $B : $A, $_) ne 'success' } @ids;
is("@wrong", '', 'both edges answer success for them');

is($t->psql("SELECT count(*) FROM jobs WHERE media_id IN ($in)"), 40,
   'one job per media');
is($t->psql("SELECT count(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id
              WHERE j.media_id IN ($in)"), 40, '40 attempts in all');
is($t->psql("SELECT count(*) FROM jobs j WHERE j.media_id IN ($in)
               AND j.state = 'done'
               AND (SELECT count(*) FROM job_attempts a
                     WHERE a.job_id = j.id AND a.outcome = 'done') = 1
               AND NOT EXISTS (SELECT 1 FROM job_attempts a
                     WHERE a.job_id = j.id AND a.outcome IS DISTINCT FROM 'done')"),
   40, 'every job done by exactly one attempt: nothing lost, nothing twice');
my %by = map { split /\|/ } split /\n/, $t->psql(
    "SELECT a.worker, count(*) FROM job_attempts a JOIN jobs j ON j.id = a.job_id
      WHERE j.media_id IN ($in) GROUP BY a.worker");
is_deeply([sort map { /:(\d+)$/ ? $1 : $_ } keys %by], [sort @workers],
          'both worker processes ran jobs')
    or diag(explain \%by);
note("jobs per worker: ", join ', ', map { "$_ $by{$_}" } sort keys %by);

# --- revocation reaches both edges ------------------------------------------

my $key = $t->new_key($t->tenant);
for my $edge ($A, $B) {             # both edges cache the key as valid
    is(call($edge, GET => '/api/v1/media/999999', undef, key => $key)
           ->{status}, 404, "the new key works on $name{$edge}");
}
my ($prefix) = $key =~ /^(mk_.{8})/;
$t->admin('key', 'revoke', $prefix);
for my $edge ($A, $B) {
    my $r;
    $t->wait_until(sub {
        $r = call($edge, GET => '/api/v1/media/999999', undef, key => $key);
        $r->{status} == 401;
    }, timeout => 30, interval => 0.2);
    is($r->{status}, 401, "$name{$edge} refuses the revoked key");
    is($r->{json}{error_code}, 'API_KEY_REVOKED', "$name{$edge}: API_KEY_REVOKED");
}

# --- one edge stopped, the other serves --------------------------------------

my $master_a = pid_of('nginx.pid');
kill 'TERM', $master_a;
$t->wait_until(sub { !kill 0, $master_a }, timeout => 30);
ok(!kill(0, $master_a), 'edge A stopped');
is($t->http(GET => "$A/api/v1/media/$id")->{status}, 599,
   'edge A no longer answers');
my $id2 = eval { upload_via($B, $B, $B, $jpeg, 'alone.jpg') };
ok($id2, 'edge B alone: upload and confirm') or diag($@);
$t->wait_until(sub { optimization($B, $id2) eq 'success' },
               timeout => 120, interval => 0.25);
is(optimization($B, $id2), 'success', 'edge B alone: optimized and read');

# --- no alerts on either edge ------------------------------------------------

$t->no_alerts;
open my $fh, '<', "$dir/log/nginx-2-error.log" or die "nginx-2-error.log: $!";
my @alerts = grep { /\[(alert|crit|emerg)\]/ } <$fh>;
ok(!@alerts, "no alert, crit or emerg in edge B's error log")
    or diag(@alerts[0 .. ($#alerts < 9 ? $#alerts : 9)]);

done_testing();
