package MediaTest;

# A small Test::Nginx-style harness for the media stack: starts PostgreSQL,
# nginx with the module and the worker (scripts/stack.sh) on free loopback
# ports under a temporary MEDIA_VAR, runs the data blocks after __DATA__,
# and stops everything at the end.  See t/lib/README.md.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256_hex);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use IPC::Run ();
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

use MediaTest::Blocks;

our @EXPORT = qw(blocks run_blocks var json_match);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
our $JSON = JSON::PP->new->canonical->allow_nonref;
our %VARS;                  # substituted as $name in the data blocks
my $STACK;                  # the one stack of this test file, stopped at END

# MediaTest->start(%opt): workers, auth_ttl, upload_ttl, import_allow,
# concurrency, loglevel, env (more MEDIA_* variables for scripts/stack.sh).  Fails the file (and stops what started) if the
# stack does not come up.
sub start {
    my ($class, %opt) = @_;
    my $t = bless { opt => \%opt, owner => $$ }, $class;
    $STACK = $t;
    $t->{dir} = tempdir('media-test-XXXXXX', TMPDIR => 1);
    chmod 0755, $t->{dir};      # the postgres user must reach $dir/pg
    @$t{qw(port pg_port)} = free_ports(2);
    $t->{guard} = $t->guard;
    my $out = $t->stack('start');
    if ($?) {
        fail('the stack starts');
        diag($out);
        done_testing();
        exit 1;
    }
    $t->{key} = slurp("$t->{dir}/dev-api-key");
    chomp $t->{key};
    $t->{tenant} = $t->psql('SELECT tenant_id FROM api_keys ORDER BY id LIMIT 1');
    ($t->{other_tenant}, $t->{other_key}) = $t->new_tenant('other');
    %VARS = (%VARS, key => $t->{key}, other_key => $t->{other_key},
             tenant => $t->{tenant}, other_tenant => $t->{other_tenant},
             port => $t->{port}, base => $t->base);
    return $t;
}

sub env {
    my $t = shift;
    my $o = $t->{opt};
    return (
        MEDIA_VAR                => $t->{dir},
        MEDIA_PORT               => $t->{port},
        MEDIA_PG_PORT            => $t->{pg_port},
        MEDIA_NGINX_WORKERS      => $o->{workers} // 2,
        MEDIA_AUTH_TTL           => $o->{auth_ttl} // '30s',
        MEDIA_UPLOAD_TTL         => $o->{upload_ttl} // '30m',
        MEDIA_IMPORT_ALLOW       => $o->{import_allow} // '',
        MEDIA_WORKER_CONCURRENCY => $o->{concurrency} // 2,
        MEDIA_LOGLEVEL           => $o->{loglevel} // 'info',
        MEDIA_PG_EXTRA_OPTS      => '-c fsync=off -c synchronous_commit=off '
                                  . '-c full_page_writes=off',
        %{ $o->{env} || {} },   # more scripts/stack.sh settings
    );
}

# Runs scripts/stack.sh <cmd> with our environment; output, status in $?.
sub stack {
    my ($t, $cmd) = @_;
    local %ENV = (%ENV, $t->env);
    return scalar `$ROOT/scripts/stack.sh $cmd 2>&1`;
}

# scripts/pg.sh stop|start for the database outage tests.
sub pg {
    my ($t, $cmd) = @_;
    local %ENV = (%ENV, PG_EXTRA_OPTS => { $t->env }->{MEDIA_PG_EXTRA_OPTS});
    my $out = `$ROOT/scripts/pg.sh $cmd $t->{dir}/pg $t->{pg_port} 2>&1`;
    die "pg.sh $cmd: $out" if $?;
}

# A child process that stops the stack if this test process dies without
# running END (SIGKILL): it checks every second that its parent lives.
sub guard {
    my $t = shift;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    POSIX::setsid();
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', '/dev/null';      # never hold prove's pipe open
    open STDERR, '>', '/dev/null';
    $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP PIPE);
    for (1 .. 6 * 3600) {               # at most 6 hours
        last unless kill 0, $t->{owner};
        sleep 1;
    }
    $t->stack('stop');
    remove_tree($t->{dir}) unless $ENV{MEDIA_TEST_KEEP};
    POSIX::_exit(0);
}

sub stop {
    my ($t, $status) = @_;
    return if $t->{stopped}++ || $$ != $t->{owner};
    $_->kill for values %{ $t->{children} || {} };
    my $out = $t->stack('stop');
    diag("stack.sh stop: $out") if $?;
    if ($t->{guard}) {          # only now: we could be killed while stopping
        kill 'TERM', $t->{guard};
        waitpid $t->{guard}, 0;
    }
    if ($status || !Test::More->builder->is_passing) {
        for my $log (qw(log/nginx-error.log log/worker.log pg/server.log)) {
            open my $fh, '<', "$t->{dir}/$log" or next;
            my @lines = grep { !/\[(notice|info|debug)\]/ } <$fh>;
            splice @lines, 0, -20;
            diag("--- $log (last lines)\n", @lines) if @lines;
        }
    }
    if ($ENV{MEDIA_TEST_KEEP}) {
        diag("MEDIA_TEST_KEEP: left $t->{dir}");
    } else {
        remove_tree($t->{dir});
    }
}

END {
    my $status = $?;
    local $?;               # keep the test file's exit status
    local $SIG{PIPE} = 'IGNORE';
    $STACK->stop($status) if $STACK;
}
$SIG{$_} = sub { exit 130 } for qw(INT TERM HUP PIPE);   # so that END runs

sub dir    { $_[0]{dir} }
sub port   { $_[0]{port} }
sub base   { "http://127.0.0.1:$_[0]{port}" }
sub key    { $_[0]{key} }
sub tenant { $_[0]{tenant} }
sub other_key    { $_[0]{other_key} }
sub other_tenant { $_[0]{other_tenant} }
sub pgconn { "host=127.0.0.1 port=$_[0]{pg_port} dbname=media user=postgres" }

sub free_ports {
    my $n = shift;
    my @socks = map {
        IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                              Proto => 'tcp', Listen => 1)
            or die "no free port: $!";
    } 1 .. $n;
    return map { $_->sockport } @socks;
}

sub slurp {
    my $file = shift;
    open my $fh, '<:raw', $file or die "$file: $!";
    local $/;
    return scalar <$fh>;
}

sub var { %VARS = (%VARS, @_) }

# --- database and admin CLI --------------------------------------------

# One statement through psql; its unaligned output, chomped.  Dies on error.
sub psql {
    my ($t, $sql) = @_;
    my ($out, $err);
    IPC::Run::run(['psql', '-X', '-qtA', '-v', 'ON_ERROR_STOP=1',
                   '-d', $t->pgconn, '-c', $sql],
                  \undef, \$out, \$err, IPC::Run::timeout(30))
        or die "psql failed: $err\n$sql\n";
    chomp $out;
    return $out;
}

# A psql process kept open, for transactions that span other requests.
sub psql_session {
    my $t = shift;
    return MediaTest::Psql->new($t->pgconn);
}

sub admin {
    my ($t, @args) = @_;
    my ($out, $err);
    IPC::Run::run(["$ROOT/backend/media-admin", '-d', $t->pgconn, @args],
                  \undef, \$out, \$err, IPC::Run::timeout(30))
        or die "media-admin @args failed: $err$out";
    return $out;
}

# A new tenant and a key for it, both made by media-admin.
sub new_tenant {
    my ($t, $name) = @_;
    my ($id) = $t->admin('tenant', 'create', $name) =~ /^(\d+)$/m
        or die "media-admin tenant create printed no id";
    return ($id, $t->new_key($id));
}

sub new_key {
    my ($t, $tenant) = @_;
    my ($key) = $t->admin('key', 'create', $tenant)
        =~ /^(mk_[A-Za-z0-9_-]{43})$/m
        or die "media-admin key create printed no key";
    return $key;
}

# --- HTTP ----------------------------------------------------------------

# http(METHOD, path or loopback URL, body => ..., headers => {...},
# timeout => s).  Returns HTTP::Tiny's response plus {json} when the body
# is JSON and {elapsed} in seconds.  A new connection every time.
sub http {
    my ($t, $method, $target, %o) = @_;
    my $url = $target =~ m{^http://} ? $target : $t->base . $target;
    die "tests talk to loopback only: $url"
        unless $url =~ m{^http://127\.0\.0\.1:\d+/};
    my $ua = HTTP::Tiny->new(timeout => $o{timeout} // 10, keep_alive => 0,
                             max_redirect => 0);
    my $t0 = time;
    my $res = $ua->request($method, $url, {
        headers => $o{headers} || {},
        defined $o{body} ? (content => $o{body}) : () });
    $res->{elapsed} = time - $t0;
    $res->{json} = eval { $JSON->decode($res->{content}) }
        if length($res->{content} // '');
    return $res;
}

# An authenticated JSON call: api(METHOD, /api/... path, data, key => ...).
sub api {
    my ($t, $method, $path, $data, %o) = @_;
    my %h = (Authorization => 'ApiKey ' . ($o{key} // $t->{key}));
    $h{'Content-Type'} = 'application/json' if defined $data;
    return $t->http($method, $path, headers => \%h, timeout => $o{timeout},
                    body => defined $data ? $JSON->encode($data) : undef);
}

# The same request in a child process, for requests expected to block.
# Returns an object with ->done (has it answered?) and ->wait(seconds).
sub http_in_background {
    my ($t, @args) = @_;
    my $bg = MediaTest::Background->start(sub { $t->http(@args) });
    $t->{children}{ $bg->{pid} } = $bg;
    return $bg;
}

# Raw bytes to the nginx port, for what HTTP::Tiny cannot send (chunked
# bodies, short bodies).  Sends $bytes, then returns whatever arrives
# within `timeout` seconds; with keep_open => 1 returns the socket instead.
sub raw {
    my ($t, $bytes, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t->{port}, Proto => 'tcp')
        or die "connect: $!";
    $s->autoflush(1);
    print {$s} $bytes;
    return $s if $o{keep_open};
    return read_response($s, $o{timeout} // 5);
}

sub read_response {
    my ($s, $timeout) = @_;
    my ($buf, $deadline) = ('', time + $timeout);
    my $sel = IO::Select->new($s);
    while (time < $deadline) {
        next unless $sel->can_read(0.1);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
        last if response_complete($buf);
    }
    close $s;
    return $buf;
}

# A raw HTTP/1.1 response as { status, headers => { lc name => value },
# content } (chunked bodies decoded); status 0 if there was none.
sub parse_response {
    my $raw = shift // '';
    my ($head, $body) = $raw =~ /\A(.*?)\r\n\r\n(.*)\z/s
        or return { status => 0, headers => {}, content => '' };
    my ($status) = $head =~ m{\AHTTP/1\.[01] (\d{3})};
    my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1 => $2) : () }
            split /\r\n/, $head;
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/\A([0-9a-fA-F]+)[^\r]*\r\n//) {
            my $n = hex $1 or last;
            $out .= substr($body, 0, $n, '');
            $body =~ s/\A\r\n//;
        }
        $body = $out;
    }
    my $res = { status => $status // 0, headers => \%h, content => $body };
    $res->{json} = eval { $JSON->decode($body) };
    return $res;
}

sub response_complete {
    my $buf = shift;
    my ($head, $body) = $buf =~ /\A(.*?\r\n\r\n)(.*)\z/s or return 0;
    my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
    return length($body) >= $len if defined $len;
    return $body =~ /(?:\A|\r\n)0\r\n\r\n\z/
        if $head =~ /^Transfer-Encoding:\s*chunked/mi;
    return 0;
}

# Bounded poll: calls $cond every `interval` s until it returns true or
# `timeout` s pass; returns its last value.
sub wait_until {
    my ($t, $cond, %o) = @_;
    my $deadline = time + ($o{timeout} // 10);
    while (1) {
        my $v = $cond->();
        return $v if $v || time >= $deadline;
        sleep($o{interval} // 0.1);
    }
}

# Lines of the nginx error log at alert, crit or emerg level (a crash,
# "header already sent", ...) written since byte $from.
sub error_log_alerts {
    my ($t, $from) = @_;
    open my $fh, '<', "$t->{dir}/log/nginx-error.log" or return [];
    seek $fh, $from // 0, 0;
    return [ grep { /\[(alert|crit|emerg)\]/ } <$fh> ];
}

# One assertion: nothing at alert level or worse in the whole file's run.
sub no_alerts {
    my $t = shift;
    my $alerts = $t->error_log_alerts(0);
    ok(!@$alerts, 'no alert, crit or emerg in the nginx error log')
        or diag(join '', @$alerts[0 .. ($#$alerts < 9 ? $#$alerts : 9)]);
}

# --- the upload flow ------------------------------------------------------

# The signature and the URL the module must issue, computed independently
# from sign.key: HMAC-SHA256 over "PUT\n<key>\n<type>\n<size>\n<expires>".
sub upload_sig {
    my ($t, %o) = @_;               # object_key, type, size, expires
    my $secret = slurp("$t->{dir}/sign.key");
    return hmac_sha256_hex(
        join("\n", 'PUT', @o{qw(object_key type size expires)}), $secret);
}

sub signed_url {
    my ($t, %o) = @_;
    return sprintf '%s/upload/%s?expires=%d&type=%s&size=%d&sig=%s',
        $t->base, $o{object_key}, $o{expires}, uri_escape($o{type}),
        $o{size}, $t->upload_sig(%o);
}

sub uri_escape {
    my $s = shift;
    $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# request-upload-url for one file, PUT of $content, confirm-upload.
# Returns { uuid, name, url, object_key, media_id } and dies on any error
# (so that tests of later steps start from a known state).
sub upload {
    my ($t, %o) = @_;   # content, type, name, external_id, key, no_confirm
    my $key = $o{key} // $t->{key};
    my $file = { fileName => $o{name} // 'photo.jpg',
                 size => length $o{content},
                 contentType => $o{type} // 'image/jpeg',
                 defined $o{external_id} ? (externalId => $o{external_id})
                                         : () };
    my $res = $t->api(POST => '/api/v1/media/request-upload-url',
                      { files => [$file] }, key => $key);
    die "request-upload-url: $res->{status} $res->{content}"
        unless $res->{status} == 200;
    my $up = { uuid => $res->{json}{uuid}, %{ $res->{json}{upload}[0] } };
    $up->{name} = $up->{generatedFileName};
    my $put = $t->http(PUT => $up->{url}, body => $o{content},
                       headers => { 'Content-Type' => $file->{contentType} });
    die "PUT: $put->{status} $put->{content}" unless $put->{status} == 200;
    return $up if $o{no_confirm};
    my $c = $t->confirm($up, key => $key, external_id => $o{external_id});
    my $r = $c->{json}{results}[0];
    die "confirm-upload: $c->{status} $c->{content}"
        unless $c->{status} == 200 && $r->{success};
    $up->{media_id} = $r->{mediaId};
    return $up;
}

sub confirm {
    my ($t, $up, %o) = @_;
    return $t->api(POST => '/api/v1/media/bulk', { operations => [{
        op => 'confirm-upload', uuid => $up->{uuid},
        generatedFileName => $up->{name} // $up->{generatedFileName},
        defined $o{external_id} ? (externalId => $o{external_id}) : () }] },
        key => $o{key});
}

# Polls GET /api/v1/media/:id until optimization is success or failed
# (at most `timeout` s); returns the last response's JSON.
sub wait_optimized {
    my ($t, $id, %o) = @_;
    my $last;
    $t->wait_until(sub {
        my $res = $t->api(GET => "/api/v1/media/$id");
        $last = $res->{json};
        return $res->{status} == 200
            && $last->{optimization} =~ /^(success|failed)$/;
    }, timeout => $o{timeout} // 60, interval => 0.25);
    return $last;
}

# --- data blocks ----------------------------------------------------------

sub blocks { MediaTest::Blocks::parse(\*main::DATA) }

sub run_blocks {
    my @blocks = @_ ? @_ : blocks();
    die "run_blocks: no stack started" unless $STACK;
    MediaTest::Blocks::run($STACK, $_) for @blocks;
}

sub json_match { MediaTest::Blocks::json_match(@_) }

package MediaTest::Psql;

use Time::HiRes qw(time);

sub new {
    my ($class, $conn) = @_;
    my $p = bless { in => '', out => '', err => '' }, $class;
    $p->{h} = IPC::Run::start(
        ['psql', '-X', '-qtA', '-v', 'ON_ERROR_STOP=1', '-d', $conn],
        \$p->{in}, \$p->{out}, \$p->{err});
    return $p;
}

# Sends SQL; with a pattern, waits (at most `timeout` s) until the output
# so far matches it and returns that output.
sub send {
    my ($p, $sql, $re, $timeout) = @_;
    $p->{in} .= "$sql\n";
    my $deadline = time + ($timeout // 10);
    $p->{h}->pump_nb;
    return unless $re;
    until ($p->{out} =~ $re) {
        die "psql session: no $re in time; err: $p->{err}"
            if time > $deadline || !$p->{h}->pumpable;
        $p->{h}->pump_nb;
        Time::HiRes::sleep(0.05);
    }
    return $p->{out};
}

sub close {
    my $p = shift;
    return unless $p->{h};
    $p->{in} .= "\\q\n";
    my $h = delete $p->{h};
    eval { $h->finish; 1 } or $h->kill_kill(grace => 2);
}

sub DESTROY { $_[0]->close }

package MediaTest::Background;

use JSON::PP;
use Time::HiRes qw(time sleep);

sub start {
    my ($class, $code) = @_;
    my $file = File::Temp->new;     # the child's response, as JSON
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $res = eval { $code->() } || { status => 599, content => $@ };
        delete $res->{json};
        if (open my $fh, '>', $file->filename) {
            print {$fh} JSON::PP->new->encode($res);
            CORE::close $fh;
        }
        POSIX::_exit(0);        # no END blocks: they belong to the parent
    }
    return bless { pid => $pid, file => $file }, $class;
}

sub done {
    my $b = shift;
    return 1 if $b->{reaped};
    return 0 if waitpid($b->{pid}, POSIX::WNOHANG()) == 0;
    $b->{reaped} = 1;
}

# The child's response once it answered (within $timeout s), else undef.
sub wait {
    my ($b, $timeout) = @_;
    my $deadline = time + $timeout;
    sleep 0.05 until $b->done || time > $deadline;
    return undef unless $b->done;
    my $text = MediaTest::slurp($b->{file}->filename);
    my $res = eval { JSON::PP->new->decode($text) } or return undef;
    $res->{json} = eval { JSON::PP->new->decode($res->{content}) };
    return $res;
}

sub kill {
    my $b = shift;
    return if $b->done;
    kill 'TERM', $b->{pid};
    waitpid $b->{pid}, 0;
    $b->{reaped} = 1;
}

1;
