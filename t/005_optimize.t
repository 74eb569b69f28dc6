# End to end: real JPEG, PNG, HEIC and WebP files made here with the vips
# CLI are uploaded through signed URLs, confirmed, optimized by the worker
# (EXIF orientation applied, metadata stripped, WebP variants 128 / 512 /
# 1024 px wide, never upscaled, a BlurHash), and served back by nginx.  A
# file that is not an image ends "failed".
use strict;
use warnings;
use Test::More;
use IPC::Run qw(run timeout);
use MediaTest;

my $t = MediaTest->start(concurrency => 2);
my $dir = $t->dir . '/images';
mkdir $dir or die "$dir: $!";

sub vips {
    my ($out, $err);
    run(['vips', @_], \undef, \$out, \$err, timeout(60))
        or die "vips @_: $err";
}

# An image of w x h: a colour gradient over noise (so that it compresses
# like a photo), or a solid colour; saved in the format of the extension.
sub make_image {
    my ($name, $w, $h, %o) = @_;
    my $v = "$dir/$name.v";
    if ($o{solid}) {
        vips('black', "$dir/black.v", $w, $h, '--bands', 3);
        vips('linear', "$dir/black.v", $v, '1 1 1', "@{ $o{solid} }", '--uchar');
    } else {
        vips('xyz', "$dir/xy.v", $w, $h);
        vips('linear', "$dir/xy.v", "$dir/l.v",
             sprintf('%f %f', 255 / $w, 255 / $h), '0 0', '--uchar');
        vips('gaussnoise', "$dir/n.v", $w, $h, '--mean', 128, '--sigma', 40);
        vips('cast', "$dir/n.v", "$dir/n8.v", 'uchar');
        vips('bandjoin', "$dir/l.v $dir/n8.v", $v);
    }
    my $file = "$dir/$name";
    if ($name =~ /\.heic$/) {
        vips('heifsave', $v, $file, '--compression', 'hevc');
    } else {
        vips('copy', $v, $file);
    }
    return MediaTest::slurp($file);
}

# A JPEG with an EXIF APP1 segment saying Orientation = $o, after the SOI.
sub with_orientation {
    my ($jpeg, $o) = @_;
    my $tiff = 'MM' . pack('n N n', 42, 8, 1)
             . pack('n n N n n', 0x0112, 3, 1, $o, 0) . pack('N', 0);
    my $app1 = "Exif\0\0" . $tiff;
    substr($jpeg, 2, 0) = "\xff\xe1" . pack('n', 2 + length $app1) . $app1;
    return $jpeg;
}

sub header {
    my ($file, $field) = @_;
    my ($out, $err);
    run(['vipsheader', '-f', $field, $file], \undef, \$out, \$err, timeout(30))
        or return undef;
    chomp $out;
    return $out;
}

my %img = (
    'photo.jpg'   => { w => 1600, h => 1200, type => 'image/jpeg' },
    'small.png'   => { w => 600,  h => 400,  type => 'image/png' },
    'tall.heic'   => { w => 900,  h => 1200, type => 'image/heic' },
    'tiny.webp'   => { w => 300,  h => 200,  type => 'image/webp' },
    'rotated.jpg' => { w => 400,  h => 300,  type => 'image/jpeg',
                       orientation => 6 },   # shown as 300 x 400
    'red.png'     => { w => 200,  h => 100,  type => 'image/png',
                       solid => [200, 30, 60] },
);
for my $name (sort keys %img) {
    my $i = $img{$name};
    $i->{content} = make_image($name, $i->{w}, $i->{h},
                               $i->{solid} ? (solid => $i->{solid}) : ());
    if ($i->{orientation}) {
        $i->{content} = with_orientation($i->{content}, $i->{orientation});
        open my $fh, '>:raw', "$dir/$name" or die;
        print {$fh} $i->{content};
        close $fh;
        is(header("$dir/$name", 'orientation'), $i->{orientation},
           "$name: the test file carries EXIF orientation $i->{orientation}");
        @$i{qw(w h)} = @$i{qw(h w)};    # as it must be shown
    }
}
$img{'corrupt.jpg'} = { type => 'image/jpeg', corrupt => 1,
    content => join '', map { chr((($_ * 7919) ^ ($_ >> 3)) & 0xff) } 1 .. 5000 };

# Upload and confirm them all, then wait for the worker.
for my $name (sort keys %img) {
    my $i = $img{$name};
    $i->{up} = $t->upload(content => $i->{content}, type => $i->{type},
                          name => $name, external_id => "ext-$name");
    my $first = $t->api(GET => "/api/v1/media/$i->{up}{media_id}");
    like($first->{json}{optimization} // '',
         qr/^(pending|in_progress|success|failed)$/,
         "$name: a known optimization status right after confirm");
}
# One deadline for all of them (a bounded poll).
my @waiting = sort keys %img;
$t->wait_until(sub {
    @waiting = grep {
        my $res = $t->api(GET => "/api/v1/media/$img{$_}{up}{media_id}");
        $img{$_}{media} = $res->{json};
        ($res->{json}{optimization} // '') !~ /^(success|failed)$/;
    } @waiting;
    return !@waiting;
}, timeout => 120, interval => 0.5);
ok(!@waiting, 'every file reached success or failed within 120 s')
    or diag("still waiting: @waiting");

my $b83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
        . '#$%*+,-.:;=?@[]^_{|}~';
sub b83 { my $v = 0; $v = $v * 83 + index($b83, $_) for split //, shift; $v }

for my $name (sort grep { !$img{$_}{corrupt} } keys %img) {
    my $i = $img{$name};
    my $m = $i->{media} || {};
    is($m->{optimization}, 'success', "$name: optimization success")
        or next;
    my @diff = json_match($m, {
        id => $i->{up}{media_id} + 0, externalId => "ext-$name",
        size => length($i->{content}), contentType => $i->{type},
        optimization => 'success', blurhash => '*string',
        originalUrl => $t->base . '/files/' . $t->tenant . "/$i->{up}{name}",
        variants => [map { { url => '~^' . quotemeta($t->base . '/files/'),
                             variantSize => "$_", size => '*number' } }
                     128, 512, 1024] });
    ok(!@diff, "$name: the media file structure") or diag(join "\n", @diff);

    # BlurHash: base83, the length its size flag announces.
    my $bh = $m->{blurhash} // '';
    my $flag = b83(substr $bh, 0, 1);
    my ($nx, $ny) = ($flag % 9 + 1, int($flag / 9) + 1);
    ok($bh =~ /^[\Q$b83\E]+$/ && length($bh) == 4 + 2 * $nx * $ny,
       "$name: a well-formed BlurHash ($bh)");
    if ($i->{solid}) {      # the DC component is the average colour
        my $dc = b83(substr $bh, 2, 4);
        my @rgb = ($dc >> 16, ($dc >> 8) & 255, $dc & 255);
        ok(!grep({ abs($rgb[$_] - $i->{solid}[$_]) > 3 } 0 .. 2),
           "$name: BlurHash average colour @rgb ~ @{ $i->{solid} }");
    }

    # The original, byte for byte.
    my $orig = $t->http(GET => $m->{originalUrl});
    is($orig->{status}, 200, "$name: original served");
    ok($orig->{content} eq $i->{content}, "$name: original unchanged");

    # Every variant: WebP, the right width (never upscaled), the aspect
    # ratio kept, no metadata, the size the API says.
    for my $v (@{ $m->{variants} || [] }) {
        my $what = "$name variant $v->{variantSize}";
        my $res = $t->http(GET => $v->{url});
        is($res->{status}, 200, "$what: served") or next;
        is($res->{headers}{'content-type'}, 'image/webp', "$what: image/webp");
        is(length $res->{content}, $v->{size}, "$what: size as in the API");
        ok($res->{content} =~ /\ARIFF....WEBP/s, "$what: a WebP file");
        my $f = "$dir/variant.webp";
        open my $fh, '>:raw', $f or die;
        print {$fh} $res->{content};
        close $fh;
        my $want_w = $i->{w} < $v->{variantSize} ? $i->{w} : $v->{variantSize};
        my $want_h = $i->{h} * $want_w / $i->{w};
        is(header($f, 'vips-loader'), 'webpload', "$what: decodes as WebP");
        is(header($f, 'width'), $want_w, "$what: $want_w px wide");
        ok(abs((header($f, 'height') // 0) - $want_h) <= 1,
           "$what: about $want_h px high (orientation, aspect ratio)");
        is(header($f, 'exif-data'), undef, "$what: no EXIF");
    }
    is($t->psql("SELECT state FROM jobs WHERE media_id = $i->{up}{media_id}"),
       'done', "$name: the job is done");
}

# The corrupt file fails, with a reason, and keeps its original.
my $c = $img{'corrupt.jpg'};
is($c->{media}{optimization}, 'failed', 'corrupt.jpg: optimization failed');
is_deeply($c->{media}{variants}, [], 'corrupt.jpg: no variants');
ok(!defined $c->{media}{blurhash}, 'corrupt.jpg: no blurhash');
is($t->psql("SELECT state FROM jobs WHERE media_id = $c->{up}{media_id}"),
   'failed', 'corrupt.jpg: the job failed for good');
isnt($t->psql("SELECT coalesce(failure_reason, '') FROM media "
              . "WHERE id = $c->{up}{media_id}"), '',
     'corrupt.jpg: a failure reason is recorded');
is($t->http(GET => $c->{media}{originalUrl} // '/')->{status}, 200,
   'corrupt.jpg: the original is still served');

$t->no_alerts;
done_testing();
