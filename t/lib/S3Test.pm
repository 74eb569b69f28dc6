package S3Test;

# The s3 suites (t/3*.t): s3rver (npm, t/s3/) on 127.0.0.1 on a free port
# with one bucket, and the stack started by MediaTest with
# MEDIA_STORAGE=s3 against it; plus the independent SigV4 verifier
# (t/s3/verify.js).  s3rver is stopped by its PID at the end of the file
# (and stops by itself when the test process is gone).
#
#   my $t = S3Test->start(%mediatest_options);
#   S3Test::object($key)        # GET through s3rver: HTTP::Tiny response
#   S3Test::verify([$url, $type, $length], ...)   # list of "ok" / "mismatch: ..."

use strict;
use warnings;

use File::Temp qw(tempdir);
use HTTP::Tiny;
use IPC::Open3 ();
use Symbol qw(gensym);

use MediaTest;

our $BUCKET = 'media';
our ($PID, $PORT, $DIR);
my $S3 = "$MediaTest::ROOT/t/s3";

sub endpoint { "http://127.0.0.1:$PORT" }
sub bucket_url { endpoint() . "/$BUCKET" }
sub credentials { ('S3RVER', 'S3RVER') }

sub start_s3rver {
    system("$S3/setup.sh") == 0 or die "t/s3/setup.sh failed\n";
    $DIR = tempdir('media-s3-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    mkdir "$DIR/data";
    $PID = open(my $out, '-|', 'node', "$S3/s3rver.js", "$DIR/data", $BUCKET,
                $$) // die "node s3rver.js: $!";
    my $line = <$out>;
    ($PORT) = ($line // '') =~ /^port (\d+)$/
        or die "s3rver did not start: " . ($line // 'no output') . "\n";
    $S3Test::OUT = $out;        # keep the pipe open while it runs
    open my $fh, '>', "$DIR/credentials" or die "$DIR/credentials: $!";
    print {$fh} join("\n", credentials()), "\n";
    close $fh;
}

# MediaTest->start with the s3 storage settings (for nginx and worker).
sub start {
    my ($class, %opt) = @_;
    start_s3rver();
    return MediaTest->start(%opt, env => {
        MEDIA_STORAGE        => 's3',
        MEDIA_S3_ENDPOINT    => endpoint(),
        MEDIA_S3_REGION      => 'us-east-1',
        MEDIA_S3_BUCKET      => $BUCKET,
        MEDIA_S3_PATH_STYLE  => 'on',
        MEDIA_S3_CREDENTIALS => "$DIR/credentials",
        %{ $opt{env} || {} } });
}

# An object read back through s3rver (an unsigned GET, as a CDN would).
sub object {
    my ($key) = @_;
    return HTTP::Tiny->new(timeout => 10)->get(bucket_url() . "/$key");
}

sub object_exists { object($_[0])->{status} == 200 }

# Keys in the bucket (from s3rver's directory: no signed ListObjects needed).
sub keys_under {
    my ($prefix) = @_;
    my @keys;
    my $root = "$DIR/data/$BUCKET";
    require File::Find;
    File::Find::find({ no_chdir => 1, wanted => sub {
        return unless -f $_ && /\._S3rver_object$/;
        (my $k = $File::Find::name) =~ s{^\Q$root\E/}{};
        $k =~ s/\._S3rver_object$//;
        push @keys, $k if !defined $prefix || index($k, $prefix) == 0;
    } }, $root) if -d $root;
    return sort @keys;
}

# Each [url, content type, content length] through t/s3/verify.js.
sub verify {
    my @cases = @_;
    my $err = gensym;
    my $pid = IPC::Open3::open3(my $in, my $out, $err, 'node',
                                "$S3/verify.js", credentials());
    print {$in} join("\t", @$_), "\n" for @cases;
    close $in;
    my @res = <$out>;
    my @errs = <$err>;
    waitpid $pid, 0;
    chomp @res;
    die "verify.js: @errs" if @res != @cases;
    return @res;
}

sub stop_s3rver {
    return unless $PID;
    kill 'TERM', $PID;
    close $S3Test::OUT if $S3Test::OUT;     # waits for it
    undef $PID;
}

END {
    local $?;
    stop_s3rver();
}

1;
