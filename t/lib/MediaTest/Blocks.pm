package MediaTest::Blocks;

# The data blocks of a test file (after __DATA__), parsed and run against a
# started MediaTest stack.  Syntax and matching rules: t/lib/README.md.

use strict;
use warnings;

use B ();
use JSON::PP;
use Test::More;

my $JSON = JSON::PP->new->canonical->allow_nonref;

my %KNOWN = map { $_ => 1 } qw(request more_headers error_code timeout
    response_body response_body_like response_body_json response_headers
    set);

# Blocks as { name, sections => { section => text } }, in file order.
sub parse {
    my $fh = shift;
    my (@blocks, $cur, $sec);
    while (my $line = <$fh>) {
        chomp $line;
        if ($line =~ /^===\s+(.*?)\s*$/) {
            push @blocks, $cur = { name => $1, sections => {} };
            undef $sec;
        } elsif ($line =~ /^---\s+(\w+)\s*(?::\s*(.*?))?\s*$/) {
            die "line $.: section outside a block\n" unless $cur;
            die "line $.: unknown section '$1'\n" unless $KNOWN{$1};
            $sec = $1;
            $cur->{sections}{$sec} = $2 // '';
        } elsif ($sec) {
            my $v = \$cur->{sections}{$sec};
            $$v .= length $$v ? "\n$line" : $line;
        }
    }
    for my $b (@blocks) {
        s/\n+\z// for values %{ $b->{sections} };
    }
    return @blocks;
}

# $name and ${name} from %MediaTest::VARS; $$ is a literal $.  An unknown
# name is an error, so that a typo cannot make a test pass.
sub subst {
    my ($text, $where) = @_;
    return undef unless defined $text;
    $text =~ s{\$(?:(\$)|\{(\w+)\}|(\w+))}{
        defined $1 ? '$' : value($2 // $3, $where)
    }ge;
    return $text;
}

sub value {
    my ($name, $where) = @_;
    die "$where: undefined variable \$$name\n"
        unless defined $MediaTest::VARS{$name};
    return $MediaTest::VARS{$name};
}

sub run {
    my ($t, $b) = @_;
    my $name = $b->{name};
    my %s = map { $_ => subst($b->{sections}{$_}, $name) }
            keys %{ $b->{sections} };
    die "$name: no --- request\n" unless defined $s{request};
    my ($line, $body) = split /\n/, $s{request}, 2;
    my ($method, $target) = $line =~ /^\s*([A-Z]+)\s+(\S+)\s*$/
        or die "$name: request line must be 'METHOD /path'\n";
    my $h = headers($s{more_headers});
    $h->{'Content-Type'} //= 'application/json'
        if defined $body && $target =~ m{^/api/};
    my $log_from = -s "$t->{dir}/log/nginx-error.log" // 0;
    my $res = $t->http($method, $target, headers => $h, body => $body,
                       timeout => $s{timeout});

    is($res->{status}, $s{error_code} // 200, "$name: status")
        or diag("response body: $res->{content}");
    check_json($name, $res, $s{response_body_json})
        if defined $s{response_body_json};
    like($res->{content}, qr/$s{response_body_like}/s, "$name: body like")
        if defined $s{response_body_like};
    is($res->{content}, $s{response_body}, "$name: body")
        if defined $s{response_body};
    check_headers($name, $res, $s{response_headers})
        if defined $s{response_headers};
    capture($name, $res, $s{set}) if defined $s{set};
    Time::HiRes::sleep(0.05);   # what nginx logs after answering
    my $alerts = $t->error_log_alerts($log_from);
    ok(!@$alerts, "$name: no alert in the nginx error log")
        or diag(join '', @$alerts);
    return $res;
}

sub headers {
    my $text = shift // '';
    my %h;
    for my $line (split /\n/, $text) {
        next unless $line =~ /\S/;
        my ($k, $v) = $line =~ /^([\w-]+):\s*(.*?)\s*$/
            or die "bad header line '$line'\n";
        $h{$k} = exists $h{$k} ? [ (ref $h{$k} ? @{ $h{$k} } : $h{$k}), $v ]
                               : $v;
    }
    return \%h;
}

sub check_json {
    my ($name, $res, $want_text) = @_;
    my $want = eval { $JSON->decode($want_text) };
    die "$name: --- response_body_json is not JSON: $@\n" unless $@ eq '';
    my $got = eval { $JSON->decode($res->{content}) };
    if ($@ ne '' || !defined $res->{content}) {
        fail("$name: body is JSON");
        diag("body: " . ($res->{content} // ''));
        return;
    }
    my @diff = json_match($got, $want);
    ok(!@diff, "$name: body JSON") or diag(join "\n", @diff,
        "got: $res->{content}");
}

# Lines "Name: value" (exact), "Name: ~regex", or "!Name" (absent).
sub check_headers {
    my ($name, $res, $text) = @_;
    for my $line (split /\n/, $text) {
        next unless $line =~ /\S/;
        if ($line =~ /^!\s*([\w-]+)\s*$/) {
            ok(!defined $res->{headers}{ lc $1 }, "$name: no $1 header");
            next;
        }
        my ($k, $v) = $line =~ /^([\w-]+):\s*(.*?)\s*$/
            or die "$name: bad response_headers line '$line'\n";
        my $got = $res->{headers}{ lc $k };
        $got = join ', ', @$got if ref $got;
        if ($v =~ s/^~//) {
            like($got // '', qr/$v/, "$name: header $k");
        } else {
            is($got, $v, "$name: header $k");
        }
    }
}

# Lines "var = path": the value at a dotted path of the response JSON
# (e.g. upload.0.url) becomes $var for the following blocks.
sub capture {
    my ($name, $res, $text) = @_;
    my $got = eval { $JSON->decode($res->{content}) };
    for my $line (split /\n/, $text) {
        next unless $line =~ /\S/;
        my ($var, $path) = $line =~ /^\s*(\w+)\s*=\s*(\S+)\s*$/
            or die "$name: bad set line '$line'\n";
        my $v = $got;
        for my $step (split /\./, $path) {
            $v = ref $v eq 'HASH' ? $v->{$step}
               : ref $v eq 'ARRAY' && $step =~ /^\d+$/ ? $v->[$step]
               : undef;
        }
        ok(defined $v && ref $v ne 'HASH' && ref $v ne 'ARRAY',
           "$name: set \$$var from $path") or next;
        MediaTest::var($var => JSON::PP::is_bool($v) ? show($v) : $v);
    }
}

# The differences between a decoded JSON value and an expected one, as
# messages (none: they match).  Rules in t/lib/README.md.
sub json_match {
    my ($got, $want, $path) = @_;
    $path //= '$';
    my ($wt, $gt) = (json_type($want), json_type($got));
    if ($wt eq 'string') {
        return () if $want eq '*';
        return $gt eq $1 ? () : ("$path: expected a $1, got " . show($got))
            if $want =~ /^\*(string|number|bool|null|object|array)$/;
        if ($want =~ /^~(.*)/s) {
            return $gt eq 'string' && $got =~ /$1/ ? ()
                : ("$path: expected a string like /$1/, got " . show($got));
        }
    }
    return ("$path: expected $wt " . show($want) . ", got " . show($got))
        if $wt ne $gt;
    return object_match($got, $want, $path) if $wt eq 'object';
    return array_match($got, $want, $path) if $wt eq 'array';
    return () if show($got) eq show($want);
    return ("$path: expected " . show($want) . ", got " . show($got));
}

sub object_match {
    my ($got, $want, $path) = @_;
    my @diff;
    for my $k (sort keys %$want) {
        next if $k eq '...';
        if (!exists $got->{$k}) { push @diff, "$path.$k: missing"; next }
        push @diff, json_match($got->{$k}, $want->{$k}, "$path.$k");
    }
    unless (exists $want->{'...'}) {
        push @diff, map { "$path.$_: unexpected key" }
                    grep { !exists $want->{$_} } sort keys %$got;
    }
    return @diff;
}

sub array_match {
    my ($got, $want, $path) = @_;
    my @w = @$want;
    my $open = @w && json_type($w[-1]) eq 'string' && $w[-1] eq '...';
    pop @w if $open;
    return ("$path: expected " . ($open ? 'at least ' : '') . @w
            . " elements, got " . @$got)
        if @$got < @w || (!$open && @$got > @w);
    return map { json_match($got->[$_], $w[$_], "$path\[$_]") } 0 .. $#w;
}

# JSON::PP decodes numbers to IV/NV and strings to PV; tell them apart
# before anything stringifies them.
sub json_type {
    my $v = shift;
    return 'null' unless defined $v;
    return 'bool' if JSON::PP::is_bool($v);
    return 'object' if ref $v eq 'HASH';
    return 'array' if ref $v eq 'ARRAY';
    my $f = B::svref_2object(\$v)->FLAGS;
    return ($f & (B::SVp_IOK | B::SVp_NOK)) && !($f & B::SVp_POK)
        ? 'number' : 'string';
}

sub show { $JSON->encode($_[0]) }

1;
