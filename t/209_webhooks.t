# Webhook delivery by the worker, end to end: endpoints registered with
# media-admin, a receiver this test runs on 127.0.0.1 (import_allow =>
# 127.0.0.1/32 opens loopback to the SSRF guard), property.updated after a
# confirm through the Rentalot API with its body, headers and signature, a
# retry after a failed first attempt (recorded in webhook_attempts),
# media.optimized after the optimization, one event for a confirm-batch, an
# endpoint that always fails ending 'failed' after webhook_max_attempts, an
# endpoint on 127.0.0.2 refused by the guard without a connection; and the
# admin CLI's webhook and plan commands.
#
# Backoff is made short with worker.conf keys (webhook_backoff_base and
# webhook_backoff_max = 1 s) through scripts/stack.sh's MEDIA_WORKER_EXTRA,
# or, with a stack.sh that lacks it, by restarting the worker with them.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time);
use MediaTest;
use RentalotTest;

$ENV{MEDIA_WORKER_EXTRA} = "webhook_backoff_base = 1\nwebhook_backoff_max = 1\n"
                         . "webhook_timeout = 5";
my $t = MediaTest->start(import_allow => '127.0.0.1/32');
short_backoff() unless MediaTest::slurp($t->dir . '/worker.conf') =~ /^webhook_backoff_base/m;
like(MediaTest::slurp($t->dir . '/worker.conf'), qr/^webhook_backoff_base = 1$/m,
     'the worker runs with a 1 s webhook backoff');
my $rx = Receiver->start($t->dir . '/webhooks.log');
my $tenant = $t->tenant;
my $JSON = JSON::PP->new->canonical;
my $iso = '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$';

# A stack.sh without MEDIA_WORKER_EXTRA: add the keys to worker.conf and
# restart the worker the way stack.sh starts it (its PID file included).
sub short_backoff {
    my ($dir, $pidfile) = ($t->dir, $t->dir . '/worker.pid');
    chomp(my $pid = MediaTest::slurp($pidfile));
    kill 'TERM', $pid;
    Time::HiRes::sleep(0.1) while kill 0, $pid;
    open my $fh, '>>', "$dir/worker.conf" or die "worker.conf: $!";
    print {$fh} "$ENV{MEDIA_WORKER_EXTRA}\n";
    close $fh;
    $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/log/worker.log";
        open STDERR, '>&', \*STDOUT;
        exec("$MediaTest::ROOT/backend/media-worker", '-c', "$dir/worker.conf")
            or POSIX::_exit(127);
    }
    open $fh, '>', $pidfile or die "$pidfile: $!";
    print {$fh} "$pid\n";
    close $fh;
}

sub admin_fails {
    my @args = @_;
    my $ok = eval { $t->admin(@args); 1 };
    return $ok ? '' : $@;
}
sub events_of {
    my ($endpoint, $event) = @_;
    my $rows = $t->psql("SELECT coalesce(json_agg(json_build_object('id', id, "
        . "'event', event, 'state', state, 'attempts', attempts, 'payload', payload) "
        . "ORDER BY id), '[]') FROM webhook_events WHERE endpoint_id = $endpoint"
        . (defined $event ? " AND event = '$event'" : ''));
    return $JSON->decode($rows);
}
sub attempts_of {
    my $event = shift;
    return $JSON->decode($t->psql("SELECT coalesce(json_agg(json_build_object("
        . "'attempt', attempt, 'http_status', http_status, 'error', error) "
        . "ORDER BY attempt), '[]') FROM webhook_attempts WHERE event_id = $event"));
}
# Waits until every event of the endpoint (of that type) has left pending.
sub settle {
    my ($endpoint, $event, $n) = @_;
    return $t->wait_until(sub {
        my $ev = events_of($endpoint, $event);
        return @$ev >= $n && !grep { $_->{state} eq 'pending' } @$ev;
    }, timeout => 60, interval => 0.2);
}

# --- registration ------------------------------------------------------------
my $out = $t->admin('webhook', 'add', $tenant, $rx->url('/flaky'));
my ($endpoint) = $out =~ /^id\s+(\d+)$/m;
my ($secret) = $out =~ /^secret\s+(\S+)$/m;
ok($endpoint, 'webhook add prints the endpoint id') or diag($out);
like($secret // '', qr/^whsec_[A-Za-z0-9_-]{43}$/, '... and a generated secret');
like(admin_fails('webhook', 'add', $tenant, 'ftp://127.0.0.1/x'), qr/http:\/\/ or https:\/\//,
     'webhook add refuses a URL that is not http(s)');
like(admin_fails('webhook', 'add', $tenant, $rx->url('/x'), '--secret', 'short'),
     qr/16 to 200/, 'webhook add refuses a secret under 16 characters');
like(admin_fails('webhook', 'add', 987654321, $rx->url('/x')), qr/no such tenant/,
     'webhook add for an unknown tenant: no such tenant');
like($t->admin('webhook', 'list', $tenant), qr/^$endpoint\s+$tenant\s+\Q${\ $rx->url('\/flaky') }\E\s/m,
     'webhook list shows it');

# --- property.updated: first attempt answered 500, the retry 200 ----------------
my $p = property($t, 'Webhook flat');
my $up = upload_image($t, $p, content => make_image($t, 'w1.jpg', 320, 240),
                      name => 'w1.jpg');
my $image = $up->{image}{id};
ok(settle($endpoint, 'property.updated', 1), 'property.updated leaves the outbox');
my ($ev) = @{ events_of($endpoint, 'property.updated') };
is($ev->{state}, 'delivered', '... delivered');
is($ev->{attempts}, 2, '... in 2 attempts');
my $att = attempts_of($ev->{id});
is(scalar @$att, 2, 'webhook_attempts has 2 rows');
is($att->[0]{http_status}, 500, '... attempt 1: HTTP 500');
like($att->[0]{error} // '', qr/^http_500/, '... with error http_500');
is($att->[1]{http_status}, 200, '... attempt 2: HTTP 200');
is($att->[1]{error}, undef, '... and no error');

my @reqs = grep { $_->{headers}{'x-media-delivery'} eq $ev->{id} } $rx->requests;
is(scalar @reqs, 2, 'the receiver got the event twice');
is($reqs[0]{status}, 500, '... answered 500 first');
is($reqs[1]{status}, 200, '... then 200');
for my $i (0, 1) {
    my ($r, $n) = ($reqs[$i], $i + 1);
    my $h = $r->{headers} || {};
    is($r->{method} . ' ' . $r->{path}, 'POST /flaky', "request $n: POST to the URL");
    is($h->{'content-type'}, 'application/json', "... Content-Type: application/json");
    is($h->{'x-media-event'}, 'property.updated', '... X-Media-Event: property.updated');
    like($h->{'x-media-timestamp'} // '', qr/^\d+$/, '... X-Media-Timestamp: unix seconds');
    ok(abs(($h->{'x-media-timestamp'} // 0) - $r->{time}) < 60, '... close to now');
    is($h->{'x-media-signature'},
       'sha256=' . hmac_sha256_hex("$h->{'x-media-timestamp'}.$r->{body}", $secret),
       '... X-Media-Signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>")');
}
isnt($reqs[1]{headers}{'x-media-signature'}, undef, 'the retry is signed too');
is($reqs[0]{body}, $reqs[1]{body}, 'the retry sends the same body');
my $body = eval { decode_json($reqs[1]{body}) };
my @diff = json_match($body, { event => 'property.updated', createdAt => "~$iso",
                               data => { propertyId => $p + 0, imageCount => 1 } });
ok(!@diff, 'the body: {event, createdAt, data: {propertyId, imageCount}}')
    or diag(join "\n", @diff, $reqs[1]{body});
like($reqs[1]{body}, qr/^\{"event":"property\.updated","createdAt":"[^"]+","data":\{/,
     '... keys in the order event, createdAt, data');
is($t->psql("SELECT media_webhook_body(e) FROM webhook_events e WHERE id = $ev->{id}"),
   $reqs[1]{body}, '... the same bytes media_webhook_body gives');

# --- media.optimized ---------------------------------------------------------------
my $m = $t->wait_optimized(media_id($t, $image));
is($m->{optimization}, 'success', 'the image is optimized');
ok(settle($endpoint, 'media.optimized', 1), 'media.optimized leaves the outbox');
($ev) = @{ events_of($endpoint, 'media.optimized') };
is($ev->{state}, 'delivered', '... delivered');
my ($opt) = grep { $_->{headers}{'x-media-delivery'} eq $ev->{id} && $_->{status} == 200 }
            $rx->requests;
is($opt && $opt->{headers}{'x-media-event'}, 'media.optimized', '... X-Media-Event: media.optimized');
@diff = json_match(eval { decode_json($opt->{body}) }, { event => 'media.optimized',
    createdAt => "~$iso", data => { mediaId => media_id($t, $image) + 0, imageId => $image,
    externalId => undef, optimization => 'success', error => undef, reason => undef } });
ok(!@diff, '... body {event, createdAt, data: {mediaId, imageId, externalId, '
           . 'optimization, error, reason}}') or diag(join "\n", @diff, $opt && $opt->{body});

# --- confirm-batch: one property.updated ---------------------------------------
my @ups = map { upload_image($t, $p, content => make_image($t, "wb$_.jpg", 200, 150),
                             name => "wb$_.jpg", no_confirm => 1) } 1 .. 2;
my $res = rl_api($t, POST => "/api/v1/properties/$p/images/confirm-batch",
                 { images => [ map { confirm_body($_) } @ups ] });
is($res->{status}, 201, 'confirm-batch of 2: 201') or diag($res->{content});
ok(settle($endpoint, 'property.updated', 2), 'its event leaves the outbox');
my @pu = @{ events_of($endpoint, 'property.updated') };
is(scalar @pu, 2, 'the confirm-batch made exactly one more property.updated');
is($pu[1]{state}, 'delivered', '... delivered');
my %ids = map { $_->{headers}{'x-media-delivery'} => 1 }
          grep { $_->{status} == 200 && ($_->{headers}{'x-media-event'} // '') eq 'property.updated'
                 && (eval { decode_json($_->{body})->{data}{imageCount} } // 0) == 3 }
          $rx->requests;
is(scalar keys %ids, 1, '... one delivery with imageCount 3');

# --- an endpoint that always fails -------------------------------------------------
my $o = $t->other_tenant;
my $failing = ($t->admin('webhook', 'add', $o, $rx->url('/down'), '--secret',
                         'a-secret-of-the-other-tenant') =~ /^id\s+(\d+)$/m)[0];
my $op = property($t, 'Other webhook flat', key => $t->other_key);
$res = rl_api($t, DELETE => "/api/v1/properties/$op/images",
              { imageIds => [ '00000000-0000-4000-8000-000000000000' ] }, key => $t->other_key);
is($res->{status}, 200, 'a delete for the other tenant: 200') or diag($res->{content});
ok(settle($failing, 'property.updated', 1), 'its event leaves the outbox');
($ev) = @{ events_of($failing, 'property.updated') };
is($ev->{state}, 'failed', '... failed');
is($ev->{attempts}, 8, '... after 8 attempts (webhook_max_attempts)');
$att = attempts_of($ev->{id});
is(scalar @$att, 8, '... 8 rows in webhook_attempts');
is(scalar(grep { ($_->{http_status} // 0) == 500 } @$att), 8, '... each HTTP 500');
is(scalar(grep { $_->{headers}{'x-media-delivery'} eq $ev->{id} } $rx->requests), 8,
   'the receiver got it 8 times');
is($t->psql("SELECT last_error FROM webhook_events WHERE id = $ev->{id}"),
   'http_500: the endpoint answered HTTP 500', '... last_error says why');
like($t->admin('webhook', 'events', 'failed'), qr/^$ev->{id}\s+$o\s+$failing\s+property\.updated\s+failed\s+8\s/m,
     'webhook events failed lists it');
my @at = map { $_->{time} } grep { $_->{headers}{'x-media-delivery'} eq $ev->{id} }
         $rx->requests;
ok($at[-1] - $at[0] >= 7 * 0.5 - 0.2, '... retries at least half the backoff apart')
    or diag("@at");

# --- the SSRF guard: 127.0.0.2 is not in import_allow --------------------------------
my ($third) = $t->new_tenant('third');
my $blocked = ($t->admin('webhook', 'add', $third,
                         'http://127.0.0.2:' . $rx->port . '/hook') =~ /^id\s+(\d+)$/m)[0];
$t->psql("SELECT media_webhook_emit($third, 'property.updated', '{\"propertyId\":1}')");
ok($t->wait_until(sub { @{ attempts_of(events_of($blocked)->[0]{id}) } >= 1 },
                  timeout => 30), 'the event for 127.0.0.2 is attempted');
$att = attempts_of(events_of($blocked)->[0]{id});
like($att->[0]{error} // '', qr/^blocked_address: the URL leads to 127\.0\.0\.2 \(loopback address\)/,
     '... refused by the SSRF guard: blocked_address, 127.0.0.2, loopback')
    or diag($JSON->encode($att));
is($att->[0]{http_status}, undef, '... never connected: no HTTP status');
is(scalar(grep { $_->{path} eq '/hook' } $rx->requests), 0, '... nothing received');

# --- webhook remove -----------------------------------------------------------------
like($t->admin('webhook', 'remove', $blocked), qr/^endpoint $blocked removed; [01] pending event\(s\) dropped$/m,
     'webhook remove');
like($t->admin('webhook', 'list', $third), qr/^$blocked\s+$third\s+\S+\s+\S+ \S+\s+\d{4}-/m,
     '... the endpoint is listed with removed_at');
is($t->psql("SELECT count(*) FROM webhook_events WHERE endpoint_id = $blocked AND state = 'pending'"),
   0, '... none of its events is pending');
$t->psql("SELECT media_webhook_emit($third, 'property.updated', '{}')");
is($t->psql("SELECT count(*) FROM webhook_events WHERE endpoint_id = $blocked"), 1,
   '... and it gets no new events');
like(admin_fails('webhook', 'remove', 987654321), qr/no endpoint/, 'webhook remove of an unknown id');
like(admin_fails('webhook', 'events', 'lost'), qr/state must be/, 'webhook events with a bad state');

# --- plan ----------------------------------------------------------------------------
like($t->admin('plan', 'show', $tenant), qr/^images_per_property\s+20$/m, 'plan show: 20 images');
$out = $t->admin('plan', 'set', $tenant, 'images_per_property=5', 'import_budget_monthly=7');
like($out, qr/^images_per_property\s+5$/m, 'plan set images_per_property=5');
like($out, qr/^import_budget_monthly\s+7$/m, '... import_budget_monthly=7');
$out = $t->admin('plan', 'show', $tenant);
like($out, qr/^import_budget_monthly\s+7$/m, 'plan show: the new budget');
like($out, qr/^imports_this_month\s+0$/m, '... and the imports this month');
$res = presign($t, $p, { fileName => 'q.jpg', contentType => 'image/jpeg', sizeBytes => 10 });
is($res->{json}{data}{maxImages}, 5, 'presign answers maxImages 5');
$t->admin('plan', 'set', $tenant, 'import_budget_monthly=9');
like($t->admin('plan', 'show', $tenant), qr/^images_per_property\s+5$/m,
     'plan set of one limit keeps the other');
like(admin_fails('plan', 'set', $tenant, 'images_per_property=0'), qr/from 1 to 1000/,
     'plan set images_per_property=0 is refused');
like(admin_fails('plan', 'set', $tenant, 'photos=3'), qr/expected images_per_property/,
     'plan set of an unknown limit is refused');
like(admin_fails('plan', 'show', 987654321), qr/no such tenant/, 'plan show of an unknown tenant');

$t->no_alerts;
done_testing();


package Receiver;

# A one-connection-at-a-time HTTP/1.0 server on 127.0.0.1 in a child
# process, recording every request as a JSON line ({method, path, headers,
# body, status, time}).  /flaky answers 500 to the first request of each
# X-Media-Delivery and 200 after; /down always 500; anything else 200.

use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time);

sub start {
    my ($class, $log) = @_;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                       Proto => 'tcp', Listen => 16, ReuseAddr => 1)
        or die "receiver: $!";
    my $r = bless { log => $log, port => $listen->sockport }, $class;
    open my $fh, '>', $log or die "$log: $!";
    close $fh;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
        $SIG{PIPE} = 'IGNORE';
        serve($listen, $log);
        POSIX::_exit(0);
    }
    close $listen;
    $t->{children}{$pid} = bless { pid => $pid }, 'MediaTest::Background';
    return $r;
}

sub serve {
    my ($listen, $log) = @_;
    my %seen;
    while (my $c = $listen->accept) {
        local $SIG{ALRM} = sub { die "timeout\n" };
        eval {
            alarm 10;
            my $line = <$c> // die "no request\n";
            my %h;
            while (my $l = <$c>) {
                last if $l =~ /^\r?\n$/;
                $h{ lc $1 } = $2 if $l =~ /^([^:]+):\s*(.*?)\s*$/;
            }
            my ($method, $path) = $line =~ m{^(\w+) (\S+) HTTP/} or die "bad request\n";
            my $body = '';
            read($c, $body, $h{'content-length'} // 0);
            my $id = $h{'x-media-delivery'} // '';
            my $status = $path eq '/down' ? 500
                       : $path eq '/flaky' && !$seen{$id}++ ? 500 : 200;
            open my $fh, '>>', $log or die "$log: $!";
            print {$fh} JSON::PP->new->canonical->encode({ method => $method,
                path => $path, headers => \%h, body => $body, status => $status,
                time => time }), "\n";
            close $fh;
            print {$c} "HTTP/1.0 $status X\r\nContent-Length: 2\r\n"
                     . "Connection: close\r\n\r\nok";
            alarm 0;
        };
        alarm 0;
        close $c;
    }
}

sub port { $_[0]{port} }
sub url { "http://127.0.0.1:$_[0]{port}$_[1]" }

sub requests {
    my $r = shift;
    open my $fh, '<', $r->{log} or return ();
    return map { JSON::PP->new->decode($_) } <$fh>;
}
