package RentalotTest;

# Helpers for the Rentalot property images suites (t/2*.t), on top of
# MediaTest (and RentixTest's make_image / FileServer):
#
#   property($t, $title, key =>, external_id =>)
#                                  POST /api/v1/properties; the new id
#   presign($t, $pid, $file, key =>, headers =>)
#                                  POST .../images/presign with
#                                  {fileName, contentType, sizeBytes}
#   put_file($t, $url, $content, $type)
#                                  PUT to a presigned uploadUrl
#   upload_image($t, $pid, content =>, type =>, name =>, alt =>, key =>,
#                no_confirm =>)   presign + PUT (+ confirm): { r2Key,
#                                  uploadUrl, size, type, image, location }
#                                  dies on any error
#   confirm_body($up, alt =>)     the confirm body for an upload_image
#   media_id($t, $image_uuid)     the media row id of an image
#   set_limits($t, $tenant, images => N, budget => N)
#   images($t, $pid, key =>)      GET .../images: the data array
#   rl_api($t, METHOD, path, $data, key =>, idem =>, headers =>)
#                                  api() with an optional Idempotency-Key
#   parallel($t, $n, sub { my $i = shift; ...response... })
#                                  runs $n requests at once in child
#                                  processes; their responses in order
#   webhook_events($t, $tenant)   the outbox rows [{event, payload}]
#   add_webhook($t, $tenant, $url) registers an endpoint with SQL
#   err_code($res)                the error_code of a response ('' if none)

use strict;
use warnings;

use Exporter qw(import);
use JSON::PP;
use MediaTest;
use RentixTest;

our @EXPORT = qw(property presign put_file upload_image confirm_body media_id
                 set_limits images rl_api parallel webhook_events
                 add_webhook make_image err_code);

my $JSON = JSON::PP->new->canonical;

sub rl_api {
    my ($t, $method, $path, $data, %o) = @_;
    my %h = (Authorization => 'ApiKey ' . ($o{key} // $t->key),
             %{ $o{headers} || {} });
    $h{'Content-Type'} = 'application/json' if defined $data;
    $h{'Idempotency-Key'} = $o{idem} if defined $o{idem};
    return $t->http($method, $path, headers => \%h, timeout => $o{timeout},
                    body => defined $data
                        ? (ref $data ? $JSON->encode($data) : $data)
                        : undef);
}

sub property {
    my ($t, $title, %o) = @_;
    my $res = rl_api($t, POST => '/api/v1/properties',
        { title => $title,
          defined $o{external_id} ? (externalId => $o{external_id}) : () },
        key => $o{key});
    die "POST /api/v1/properties: $res->{status} $res->{content}"
        unless $res->{status} == 201;
    return $res->{json}{data}{id};
}

sub presign {
    my ($t, $pid, $file, %o) = @_;
    return rl_api($t, POST => "/api/v1/properties/$pid/images/presign",
                  $file, %o);
}

sub put_file {
    my ($t, $url, $content, $type) = @_;
    return $t->http(PUT => $url, body => $content,
                    headers => { 'Content-Type' => $type });
}

sub upload_image {
    my ($t, $pid, %o) = @_;
    my $type = $o{type} // 'image/jpeg';
    my $up = { size => length $o{content}, type => $type };
    my $res = presign($t, $pid, { fileName => $o{name} // 'photo.jpg',
                                  contentType => $type,
                                  sizeBytes => $up->{size} },
                      key => $o{key});
    die "presign: $res->{status} $res->{content}" unless $res->{status} == 200;
    $up->{$_} = $res->{json}{data}{$_} for qw(uploadUrl r2Key);
    my $put = put_file($t, $up->{uploadUrl}, $o{content}, $type);
    die "PUT: $put->{status} $put->{content}" unless $put->{status} == 200;
    return $up if $o{no_confirm};
    my $c = rl_api($t, POST => "/api/v1/properties/$pid/images/confirm",
                   confirm_body($up, alt => $o{alt}), key => $o{key});
    die "confirm: $c->{status} $c->{content}" unless $c->{status} == 201;
    $up->{image} = $c->{json}{data};
    $up->{location} = $c->{headers}{location};
    return $up;
}

sub confirm_body {
    my ($up, %o) = @_;
    return { r2Key => $up->{r2Key}, contentType => $up->{type},
             sizeBytes => $up->{size},
             defined $o{alt} ? (altText => $o{alt}) : () };
}

sub media_id {
    my ($t, $uuid) = @_;
    die "not a uuid: $uuid" unless $uuid =~ /^[0-9a-f-]{36}$/;
    return $t->psql("SELECT id FROM media WHERE uuid = '$uuid'");
}

sub set_limits {
    my ($t, $tenant, %o) = @_;
    $t->psql("UPDATE tenants SET images_per_property = $o{images} "
             . "WHERE id = $tenant") if defined $o{images};
    $t->psql("UPDATE tenants SET import_budget_monthly = $o{budget} "
             . "WHERE id = $tenant") if defined $o{budget};
}

sub images {
    my ($t, $pid, %o) = @_;
    my $res = rl_api($t, GET => "/api/v1/properties/$pid/images", undef, %o);
    die "GET images: $res->{status} $res->{content}"
        unless $res->{status} == 200;
    return $res->{json}{data};
}

# $n children, each running $code->($i) and returning a response; they
# start together (each waits for a go file) so that the requests race.
sub parallel {
    my ($t, $n, $code) = @_;
    my $go = $t->dir . "/parallel-go-$$-" . int(rand 1e9);
    my @bg = map {
        my $i = $_;
        MediaTest::Background->start(sub {
            for (1 .. 600) { last if -e $go; Time::HiRes::sleep(0.01) }
            $code->($i);
        });
    } 0 .. $n - 1;
    $t->{children}{ $_->{pid} } = $_ for @bg;
    open my $fh, '>', $go or die "$go: $!";
    close $fh;
    my @res = map { $_->wait(120) } @bg;
    unlink $go;
    return @res;
}

sub webhook_events {
    my ($t, $tenant) = @_;
    my $rows = $t->psql("SELECT coalesce(json_agg(json_build_object("
        . "'event', event, 'payload', payload, 'state', state) ORDER BY id),"
        . " '[]') FROM webhook_events WHERE tenant_id = $tenant");
    return $JSON->decode($rows);
}

sub add_webhook {
    my ($t, $tenant, $url, $secret) = @_;
    $secret //= 'whsec-0123456789abcdef';
    return $t->psql("INSERT INTO webhook_endpoints (tenant_id, url, secret) "
                    . "VALUES ($tenant, '$url', '$secret') RETURNING id");
}

sub err_code {
    my $res = shift;
    return $res && ref $res->{json} eq 'HASH' ? $res->{json}{error_code} // ''
                                               : '';
}

1;
