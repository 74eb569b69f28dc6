package RentixTest;

# Helpers for the Rentix API suites (t/1*.t), on top of MediaTest:
#
#   make_image($t, $name, $w, $h)    a real image made with the vips CLI
#                                    (format from the extension); its bytes
#   RentixTest::FileServer->start    a tiny HTTP server on 127.0.0.1 that
#                                    serves files the test puts into it and
#                                    counts the requests for each path
#   listing_put($t, $body, key =>)   PUT /api/v1/listings
#   wait_listing($t, $ext, $status)  polls GET /api/v1/listings/:ext
#   store_file($t, $object_key)      the path of an object in the local store

use strict;
use warnings;

use Exporter qw(import);
use IPC::Run ();
use MediaTest;

our @EXPORT = qw(make_image listing_put wait_listing
                 store_file);

sub vips {
    my ($out, $err);
    IPC::Run::run(['vips', @_], \undef, \$out, \$err, IPC::Run::timeout(60))
        or die "vips @_: $err";
}

# A w x h image: a gradient with noise (so every call differs), saved in
# the format its name's extension says.
sub make_image {
    my ($t, $name, $w, $h) = @_;
    my $dir = $t->dir . '/rentix-images';
    -d $dir or mkdir $dir or die "$dir: $!";
    vips('xyz', "$dir/xy.v", $w, $h);
    vips('linear', "$dir/xy.v", "$dir/l.v",
         sprintf('%f %f', 255 / $w, 255 / $h), '0 0', '--uchar');
    vips('gaussnoise', "$dir/n.v", $w, $h, '--mean', 128, '--sigma', 40);
    vips('cast', "$dir/n.v", "$dir/n8.v", 'uchar');
    vips('bandjoin', "$dir/l.v $dir/n8.v", "$dir/img.v");
    vips('copy', "$dir/img.v", "$dir/$name");
    return MediaTest::slurp("$dir/$name");
}

sub listing_put {
    my ($t, $body, %o) = @_;
    return $t->api(PUT => '/api/v1/listings', $body, %o);
}

# Polls GET /api/v1/listings/:ext until its status is $want (bounded);
# returns the last response.
sub wait_listing {
    my ($t, $ext, $want, %o) = @_;
    my $res;
    $t->wait_until(sub {
        $res = $t->api(GET => "/api/v1/listings/$ext", undef, %o);
        return $res->{status} == 200 && $res->{json}{status} eq $want;
    }, timeout => $o{timeout} // 60, interval => 0.25);
    return $res;
}

sub store_file {
    my ($t, $key) = @_;
    return $t->dir . "/store/$key";
}


package RentixTest::FileServer;

# A one-connection-at-a-time HTTP/1.0 file server on 127.0.0.1 in a child
# process.  ->put($path, $content, $type) publishes a file (the child reads
# the directory on each request), ->url($path) is its URL, ->hits($path)
# how many requests asked for it.  Stopped at the end of the test file.

use IO::Socket::INET;
use POSIX ();

my @SERVERS;

sub start {
    my ($class, $dir) = @_;
    mkdir $dir or die "$dir: $!" unless -d $dir;
    my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Proto => 'tcp',
                                       Listen => 16, ReuseAddr => 1)
        or die "file server: $!";
    my $s = bless { dir => $dir, port => $listen->sockport,
                    owner => $$ }, $class;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $SIG{$_} = 'DEFAULT' for qw(INT TERM HUP);
        $SIG{PIPE} = 'IGNORE';     # a client that hangs up early
        serve($listen, $dir);
        POSIX::_exit(0);
    }
    close $listen;
    $s->{pid} = $pid;
    push @SERVERS, $s;
    return $s;
}

sub serve {
    my ($listen, $dir) = @_;
    while (my $c = $listen->accept) {
        local $SIG{ALRM} = sub { die "timeout\n" };
        eval {
            alarm 10;
            my $line = <$c> // die "no request\n";
            while (my $h = <$c>) { last if $h =~ /^\r?\n$/ }
            my ($method, $path) = $line =~ m{^(\w+) (/\S*) HTTP/}
                or die "bad request\n";
            $path =~ s/\?.*//;
            (my $name = $path) =~ s{^/}{};
            $name =~ s{[^A-Za-z0-9._-]}{_}g;
            if (open my $log, '>>', "$dir/.hits") {
                print {$log} "$name\n";
                close $log;
            }
            if ($name ne '' && -f "$dir/$name") {
                my $body = MediaTest::slurp("$dir/$name");
                my $type = -f "$dir/.$name.type"
                    ? MediaTest::slurp("$dir/.$name.type")
                    : 'application/octet-stream';
                print {$c} "HTTP/1.0 200 OK\r\nContent-Type: $type\r\n"
                    . 'Content-Length: ' . length($body)
                    . "\r\nConnection: close\r\n\r\n";
                print {$c} $body unless $method eq 'HEAD';
            } else {
                print {$c} "HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n"
                    . "Connection: close\r\n\r\nnot found";
            }
            alarm 0;
        };
        alarm 0;
        close $c;
    }
}

sub port { $_[0]{port} }

sub url {
    my ($s, $path) = @_;
    return "http://127.0.0.1:$s->{port}/$path";
}

sub put {
    my ($s, $name, $content, $type) = @_;
    for ([".$name.type", $type // 'application/octet-stream'],
         [$name, $content]) {
        open my $fh, '>:raw', "$s->{dir}/$_->[0].new" or die "$_->[0]: $!";
        print {$fh} $_->[1];
        close $fh;
        rename "$s->{dir}/$_->[0].new", "$s->{dir}/$_->[0]" or die "rename: $!";
    }
}

sub hits {
    my ($s, $name) = @_;
    open my $fh, '<', "$s->{dir}/.hits" or return 0;
    return scalar grep { $_ eq "$name\n" } <$fh>;
}

sub stop {
    my $s = shift;
    return if !$s->{pid} || $$ != $s->{owner};
    kill 'TERM', $s->{pid};
    waitpid $s->{pid}, 0;
    delete $s->{pid};
}

END { local $?; $_->stop for @SERVERS }   # keep the exit status

1;
