# The backend worker on its own: the job queue (kill -9 mid-job and
# takeover after the lease, SIGTERM finishing the job in hand, NOTIFY
# wake-up, PostgreSQL restart, media-admin jobs retry) and URL import
# (transient 503, timeout, redirects and host names leading to forbidden
# addresses, byte limit, pixel bomb, not an image, EXIF orientation,
# videos: poster frame, too long).
#
# The stack's own worker is stopped; this file runs media-worker processes
# with its own configuration (short lease, fast poll, an import_resolve
# table) against the stack's PostgreSQL.  Every address contacted is
# loopback: the file server below listens on 127.0.0.1, which import_allow
# opens; the forbidden targets are 127.0.0.2, 127.0.0.3, ::1 and 0.0.0.0
# (and spellings of them), which the worker must refuse before connecting.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IPC::Run qw(run);
use POSIX ();
use Time::HiRes qw(sleep time);
use MediaTest;
use RentixTest qw(make_image);

my $t = MediaTest->start(concurrency => 1, import_allow => '127.0.0.1/32');
my $dir = $t->dir;
my $files = "$dir/files";
mkdir $files or die "$files: $!";
my %workers;                    # name => pid

# --- a file server with misbehaviours ------------------------------------

my $server_pid;
my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 32, ReuseAddr => 1)
    or die "listen: $!";
my $port = $listen->sockport;

sub url { "http://127.0.0.1:$port/$_[0]" }

sub hits {
    my $path = shift;
    open my $fh, '<', "$files/.hits" or return 0;
    return scalar grep { $_ eq "/$path\n" } <$fh>;
}

sub respond {
    my ($c, $status, $body, %o) = @_;
    print {$c} "HTTP/1.0 $status\r\nContent-Type: "
        . ($o{type} // 'application/octet-stream') . "\r\n"
        . (defined $o{length} ? "Content-Length: $o{length}\r\n" : '')
        . ($o{location} ? "Location: $o{location}\r\n" : '')
        . "Connection: close\r\n\r\n";
    print {$c} $body if defined $body;
}

sub file { MediaTest::slurp("$files/$_[0]") }

# GET /file/x, /once503/x (503 on the first request), /stall-once/x (half
# the body then silence on the first request), /trickle/x (the body over
# two seconds), /stall, /endless, /biglen, /redirect?to=URL.
sub handle {
    my $c = shift;
    my $line = <$c> // return;
    while (my $h = <$c>) { last if $h =~ /^\r?\n$/ }
    my ($path) = $line =~ m{^GET (/\S*) HTTP/} or return;
    open my $log, '>>', "$files/.hits" or die;
    print {$log} "$path\n";
    close $log;
    my ($route, $name) = $path =~ m{^/([^/?]+)/?([^?]*)};
    $route //= '';
    my $first = hits(substr $path, 1) == 1;
    if ($route eq 'file' && -f "$files/$name") {
        respond($c, '200 OK', file($name), length => -s "$files/$name");
    } elsif ($route eq 'once503') {
        return respond($c, '503 Busy', '', length => 0) if $first;
        respond($c, '200 OK', file($name), length => -s "$files/$name");
    } elsif ($route eq 'stall-once' || $route eq 'trickle') {
        my $body = file($name);
        respond($c, '200 OK', undef, length => length $body);
        if ($route eq 'stall-once' && $first) {
            print {$c} substr($body, 0, length($body) / 2);
            sleep 60;
        }
        my $n = $route eq 'trickle' ? 10 : 1;
        my $chunk = int(length($body) / $n) + 1;
        for my $i (0 .. $n - 1) {
            print {$c} substr($body, $i * $chunk, $chunk);
            sleep 0.2 if $n > 1;
        }
    } elsif ($route eq 'stall') {
        respond($c, '200 OK', undef, length => 1000);
        sleep 60;
    } elsif ($route eq 'endless') {
        respond($c, '200 OK');
        print {$c} "\xff" x 65536 for 1 .. 1000;
    } elsif ($route eq 'biglen') {
        respond($c, '200 OK', undef, length => 10**12);
    } elsif ($route eq 'redirect') {
        my ($to) = $path =~ /\?to=(.*)$/;
        respond($c, '302 Found', '', length => 0, location => $to);
    } else {
        respond($c, '404 Not Found', 'not found', length => 9);
    }
}

$server_pid = fork // die "fork: $!";
if (!$server_pid) {
    POSIX::setpgid(0, 0);       # its stalled children end with it
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
    $SIG{PIPE} = 'IGNORE';
    $SIG{CHLD} = 'IGNORE';
    while (my $c = $listen->accept) {
        my $pid = fork;
        if (defined $pid && $pid == 0) {
            $c->autoflush(1);
            eval { handle($c) };
            close $c;
            POSIX::_exit(0);
        }
        close $c;
    }
    POSIX::_exit(0);
}
close $listen;

# --- workers ---------------------------------------------------------------

sub start_worker {
    my ($name, %conf) = @_;
    my %c = (
        database => $t->pgconn, store_root => "$dir/store",
        concurrency => 1, lease_seconds => 2, poll_seconds => 1,
        worker_id => $name, import_allow => '127.0.0.1/32',
        import_resolve => "forbidden.test:$port:127.0.0.3, "
                        . "allowed.test:$port:127.0.0.1",
        import_timeout => 3, import_connect_timeout => 2,
        max_file_size => 3000000, %conf);
    open my $fh, '>', "$dir/$name.conf" or die;
    print {$fh} map { "$_ = $c{$_}\n" } sort keys %c;
    close $fh;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/$name.log";
        open STDERR, '>&', \*STDOUT;
        { exec "$MediaTest::ROOT/backend/media-worker", '-c', "$dir/$name.conf" }
        POSIX::_exit(127);
    }
    $workers{$name} = $pid;
    return $pid;
}

# Signal a worker and wait for it; its exit status, or undef on timeout.
sub stop_worker {
    my ($name, $signal, $wait) = @_;
    my $pid = delete $workers{$name} or return undef;
    kill $signal, $pid;
    my $deadline = time + ($wait // 30);
    while (time < $deadline) {
        return $? >> 8 if waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
    return undef;
}

sub worker_log { -f "$dir/$_[0].log" ? MediaTest::slurp("$dir/$_[0].log") : '' }

END {
    kill 'KILL', values %workers;
    kill 'KILL', -$server_pid if $server_pid && $$ != $server_pid;
}

# The stack's worker would compete for the jobs: stop it.
my $stack_worker = MediaTest::slurp("$dir/worker.pid") =~ /(\d+)/ && $1;
kill 'TERM', $stack_worker;
$t->wait_until(sub { !kill 0, $stack_worker }, timeout => 30);
ok(!kill(0, $stack_worker), "the stack's worker stopped");

# --- helpers -----------------------------------------------------------------

my $tenant = $t->tenant;

# An import job as upload-from-url makes it; returns (media id, job id).
sub import_url {
    my $url = shift;
    my $r = $t->psql("SELECT media_import($tenant, '$url', NULL)");
    my ($m) = $r =~ /"mediaId": (\d+)/ or die "media_import: $r";
    my ($j) = $r =~ /"jobId": (\d+)/ or die "media_import: $r";
    return ($m, $j);
}

sub media {
    my $id = shift;
    my ($opt, $code, $type, $size, $w, $h) = split /\|/,
        $t->psql("SELECT optimization, failure_code, content_type, size, "
               . "width, height FROM media WHERE id = $id"), -1;
    return { optimization => $opt, code => $code, type => $type,
             size => $size, width => $w, height => $h };
}

# Waits until the media row is success or failed; returns media().
sub wait_media {
    my ($id, $timeout) = @_;
    $t->wait_until(sub { media($id)->{optimization} =~ /^(success|failed)$/ },
                   timeout => $timeout // 30, interval => 0.1);
    return media($id);
}

sub put_file {
    my ($name, $content) = @_;
    open my $fh, '>:raw', "$files/$name" or die "$name: $!";
    print {$fh} $content;
    close $fh;
}

put_file('photo.jpg', make_image($t, 'photo.jpg', 1200, 900));
put_file('big.jpg', make_image($t, 'big.jpg', 2400, 1800));

# --- the queue ---------------------------------------------------------------

# NOTIFY wakes an idle worker at once, long before its fallback poll.
start_worker('A', poll_seconds => 60);
$t->wait_until(sub { worker_log('A') =~ /connected to database/ });
sleep 0.5;
my $t0 = time;
my ($m1) = import_url(url('file/photo.jpg'));
my $m = wait_media($m1, 20);
is($m->{optimization}, 'success', 'NOTIFY: an import while idle succeeds');
cmp_ok(time - $t0, '<', 10, '... long before the 60 s fallback poll');
is($m->{type}, 'image/jpeg', '... content type from the bytes');
is($m->{size}, -s "$files/photo.jpg", '... size of the file fetched');

# kill -9 while a job is in hand: a second worker takes it over once the
# 2 s lease has expired, and the first attempt is recorded as lost.
my ($m2, $j2) = import_url(url('stall-once/big.jpg'));
ok($t->wait_until(sub { hits('stall-once/big.jpg') >= 1 }, timeout => 20),
   'kill -9: worker A is fetching');
is($t->psql("SELECT state || ' ' || locked_by FROM jobs WHERE id = $j2"),
   'running A', '... the job is running, held by A');
stop_worker('A', 'KILL');
start_worker('B');
$m = wait_media($m2, 40);
is($m->{optimization}, 'success', '... worker B finished it after the lease');
is($t->psql("SELECT string_agg(attempt || ':' || worker || ':' || outcome, "
          . "' ' ORDER BY attempt) FROM job_attempts WHERE job_id = $j2"),
   '1:A:lost 2:B:done', '... attempts: A lost, B done');
is($t->psql("SELECT state FROM jobs WHERE id = $j2"), 'done',
   '... the job is done');

# SIGTERM: no new claims; the job in hand finishes; exit status 0.
my ($m3, $j3) = import_url(url('trickle/big.jpg'));
ok($t->wait_until(sub { hits('trickle/big.jpg') >= 1 }, timeout => 20),
   'SIGTERM: worker B has a job in hand');
is(stop_worker('B', 'TERM'), 0, '... B exits with status 0');
is(media($m3)->{optimization}, 'success', '... after finishing the job');
is($t->psql("SELECT attempts FROM jobs WHERE id = $j3"), 1,
   '... in one attempt');
like(worker_log('B'), qr/no new jobs; finishing the jobs in hand/,
     '... and says so');
is($t->psql("SELECT count(*) FROM jobs WHERE locked_by = 'B'"), 0,
   '... and holds no job');

# PostgreSQL restarts under a running worker: it reconnects by itself,
# with one log line when the database goes and one when it is back.
my ($m4) = import_url(url('file/photo.jpg'));
start_worker('C');
is(wait_media($m4, 20)->{optimization}, 'success',
   'restart: worker C took the queued job');
$t->pg('stop');
sleep 2;
$t->pg('start');
my ($m5) = import_url(url('file/photo.jpg'));
is(wait_media($m5, 30)->{optimization}, 'success',
   '... a job after the restart succeeds');
my $log = worker_log('C');
is(scalar(() = $log =~ /database unavailable/g), 1,
   '... one "unavailable" line') or diag($log);
is(scalar(() = $log =~ /database connection restored/g), 1,
   '... one "restored" line');

# --- import failures -----------------------------------------------------

# A transient 503 is retried and then succeeds (one job, two attempts).
my ($m6, $j6) = import_url(url('once503/photo.jpg'));
$m = wait_media($m6, 30);
is($m->{optimization}, 'success', 'HTTP 503 once: success on retry');
is($t->psql("SELECT string_agg(outcome, ' ' ORDER BY attempt) "
          . "FROM job_attempts WHERE job_id = $j6"), 'retry done',
   '... attempts: retry, done');
is(hits('once503/photo.jpg'), 2, '... two requests');

# Permanent failures: typed, one attempt each, nothing left in the store.
my $bomb = "\x89PNG\r\n\x1a\n";
{
    use Compress::Zlib qw(crc32 compress);
    my $chunk = sub {
        my ($type, $data) = @_;
        return pack('N', length $data) . $type . $data
             . pack('N', crc32($type . $data));
    };
    # 50000 x 50000 RGB declared; a few bytes of pixels.
    $bomb .= $chunk->('IHDR', pack('NNCCCCC', 50000, 50000, 8, 2, 0, 0, 0))
           . $chunk->('IDAT', compress("\0" x 1000))
           . $chunk->('IEND', '');
    put_file('bomb.png', $bomb);
    put_file('text.jpg', "this is not an image\n" x 100);
}

my @fail = (
    [url('file/missing.jpg'), 'http_404', 'a URL answering 404'],
    [url('file/text.jpg'), 'not_an_image', 'text'],
    [url('file/bomb.png'), 'too_many_pixels', 'a 50000x50000 PNG header'],
    [url('endless'), 'too_large', 'a body without end'],
    [url('biglen'), 'too_large', 'a Content-Length over the limit'],
    [url('redirect?to=http://127.0.0.2:' . $port . '/file/photo.jpg'),
     'blocked_address', 'a redirect to 127.0.0.2'],
    [url('redirect?to=http://[::1]:' . $port . '/file/photo.jpg'),
     'blocked_address', 'a redirect to [::1]'],
    [url('redirect?to=ftp://127.0.0.1/photo.jpg'), 'bad_url',
     'a redirect to ftp://'],
    ["http://forbidden.test:$port/file/photo.jpg", 'blocked_address',
     'a host name resolving to 127.0.0.3'],
    ["http://2130706434:$port/file/photo.jpg", 'blocked_address',
     '127.0.0.2 spelt in decimal'],
    ["http://0x7f000003:$port/file/photo.jpg", 'blocked_address',
     '127.0.0.3 spelt in hex'],
    ["http://[::ffff:127.0.0.2]:$port/file/photo.jpg", 'blocked_address',
     '127.0.0.2 IPv4-mapped'],
    ["http://0.0.0.0:$port/file/photo.jpg", 'blocked_address', '0.0.0.0'],
    ["ftp://127.0.0.1:$port/photo.jpg", 'bad_url', 'ftp://'],
);
my @tmp_before = glob("$dir/store/.tmp/*");
my @jobs = map { [import_url($_->[0])] } @fail;
for my $i (0 .. $#fail) {
    my ($mid, $jid) = @{ $jobs[$i] };
    $m = wait_media($mid, 30);
    is($m->{code}, $fail[$i][1], "$fail[$i][2]: failed, $fail[$i][1]");
    is($t->psql("SELECT attempts FROM jobs WHERE id = $jid"), 1,
       '... after one attempt');
}
is(hits('file/photo.jpg') - 3, 0,
   'no forbidden redirect or host name reached the file server');
my @tmp_after = glob("$dir/store/.tmp/*");
is(scalar @tmp_after, scalar @tmp_before,
   'the failed imports left no temporary file');

# A timeout is transient: retried with backoff, then failed.
my ($m7, $j7) = import_url(url('stall'));
$t->psql("UPDATE jobs SET max_attempts = 2 WHERE id = $j7");
$m = wait_media($m7, 40);
is($m->{code}, 'timeout', 'a server that stalls: failed, timeout');
is($t->psql("SELECT string_agg(outcome, ' ' ORDER BY attempt) "
          . "FROM job_attempts WHERE job_id = $j7"), 'retry failed',
   '... after two attempts');

# media-admin jobs retry: a failed job back to the queue, and it runs.
my ($m8, $j8) = import_url(url('file/late.jpg'));
is(wait_media($m8, 20)->{code}, 'http_404', 'jobs retry: a job failed');
rename "$files/photo.jpg", "$files/late.jpg" or die;
like($t->admin('jobs', 'retry', $j8), qr/queued again/,
     '... media-admin jobs retry');
is(wait_media($m8, 20)->{optimization}, 'success', '... and it succeeds');
like($t->admin('jobs', 'show', $j8), qr/^1\s+C\s.*failed.*\n2\s+C\s.*done/m,
     '... jobs show lists both attempts');

# An EXIF-rotated import comes out upright, with no metadata left.
# Orientation 6: stored 800x600 landscape, shown 600x800 portrait.
{
    my $jpeg = make_image($t, 'rot.jpg', 800, 600);
    my $tiff = 'MM' . pack('n N n', 42, 8, 1)
             . pack('n n N n n', 0x0112, 3, 1, 6, 0) . pack('N', 0);
    my $app1 = "Exif\0\0" . $tiff;
    substr($jpeg, 2, 0) = "\xff\xe1" . pack('n', 2 + length $app1) . $app1;
    put_file('rot.jpg', $jpeg);
}
my ($m9) = import_url(url('file/rot.jpg'));
$m = wait_media($m9, 20);
is("$m->{width}x$m->{height}", '600x800', 'EXIF orientation 6: 600x800');
for my $v (split /\n/, $t->psql("SELECT variant_size || ' ' || object_key "
                              . "|| ' ' || width || 'x' || height FROM "
                              . "media_variants WHERE media_id = $m9")) {
    my ($size, $key, $wh) = split / /, $v;
    my ($out, $err);
    run(['vipsheader', '-a', "$dir/store/$key"], \undef, \$out, \$err)
        or die $err;
    my ($w, $h) = $out =~ /width: (\d+)\nheight: (\d+)/;
    is("${w}x$h", $wh, "... $size variant upright ($wh)");
    unlike($out, qr/exif|xmp|iptc|icc|orientation/i, '... and no metadata');
}

# Videos: variants and BlurHash from a poster frame; over 3 minutes fails.
sub ffmpeg {
    my ($out, $err);
    run(['ffmpeg', '-v', 'error', '-y', @_], \undef, \$out, \$err)
        or die "ffmpeg @_: $err";
}
ffmpeg('-f', 'lavfi', '-i', 'testsrc=duration=3:size=640x360:rate=25',
       '-c:v', 'mpeg4', "$files/clip.mp4");
ffmpeg('-f', 'lavfi', '-i', 'testsrc=duration=200:size=64x64:rate=1',
       '-c:v', 'mpeg4', "$files/long.mp4");
my ($m10) = import_url(url('file/clip.mp4'));
$m = wait_media($m10, 30);
is($m->{optimization}, 'success', 'an MP4: success');
is($m->{type}, 'video/mp4', '... video/mp4 from the bytes');
is("$m->{width}x$m->{height}", '640x360', '... its size');
is($t->psql("SELECT string_agg(variant_size || ':' || width || 'x' || height,"
          . " ' ' ORDER BY variant_size) FROM media_variants "
          . "WHERE media_id = $m10"), '128:128x72 512:512x288 1024:640x360',
   '... variants from the poster frame');
like($t->psql("SELECT blurhash FROM media WHERE id = $m10"), qr/^L.{27}$/,
     '... and a BlurHash');
my ($m11) = import_url(url('file/long.mp4'));
is(wait_media($m11, 30)->{code}, 'too_long', 'a 200 s video: too_long');

is(stop_worker('C', 'TERM'), 0, 'worker C exits with status 0');
done_testing();
