# Bad input on every Rentix endpoint that takes a body: malformed JSON,
# bodies that are not objects, invalid UTF-8, raw and escaped NUL, deep
# nesting, duplicate keys, huge numbers, an oversized body, wrong types and
# overlong strings in each field.  Each is a 4xx with a JSON
# {error, error_code} body, never a 5xx, never a dropped connection, and the
# nginx error log stays free of alerts (crashes, double responses); nothing
# is written.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;
use RentixTest;

my $t = MediaTest->start;
my $J = JSON::PP->new->canonical;
my $id = $t->upload(content => make_image($t, 'bad.jpg', 40, 30),
                    name => 'bad.jpg')->{media_id};

my @endpoints = (
    [POST => '/api/v1/media/upload-from-url'],
    [POST => '/api/v1/media/bulk'],
    [PUT  => '/api/v1/listings'],
    [POST => "/api/v1/media/$id/link"],
    [POST => '/api/v1/media/request-upload-url'],
);

# [name, body, expected status]
my @bodies = (
    ['malformed: unterminated object', '{"url": "http://127.0.0.1/x"', 400],
    ['malformed: trailing comma',      '{"externalId": "x",}',         400],
    ['malformed: single quotes',       "{'externalId': 'x'}",          400],
    ['malformed: bare word',           'hello',                        400],
    ['empty body',                     '',                             400],
    ['JSON null',                      'null',                         400],
    ['JSON array',                     '[]',                           400],
    ['JSON string',                    '"x"',                          400],
    ['JSON number',                    '42',                           400],
    ['two documents',                  '{} {}',                        400],
    ['invalid UTF-8',                  qq({"externalId": "\xff\xfe"}), 400],
    ['overlong UTF-8 encoding',        qq({"externalId": "\xc0\xaf"}), 400],
    ['raw NUL byte in a string',       qq({"externalId": "a\x00b"}),   400],
    ['escaped NUL in a string',        '{"externalId": "a\u0000b"}',   400],
    ['escaped NUL in a key',           '{"a\u0000": 1}',               400],
    ['lone surrogate escape',          '{"externalId": "\ud800"}',     400],
    ['deep nesting',                   ('[' x 5000) . (']' x 5000),    400],
    ['duplicate keys',                 '{"externalId": "a", "externalId": "b"}', 400],
    ['huge number',                    '{"externalId": 1e999999}',     400],
    ['body over 1 MB',                 '{"externalId": "' . ('x' x (1024 * 1024 + 10)) . '"}', 413],
);

for my $e (@endpoints) {
    for my $b (@bodies) {
        my ($name, $body, $want) = @$b;
        check("$e->[0] $e->[1]: $name", $e->[0], $e->[1], $body, $want);
    }
}

# Wrong types and bad values, field by field: [name, method, path, data
# (encoded) or body (as is)].
my $long = 'x' x 256;
my @fields = (
    ['upload-from-url: url object', POST => '/api/v1/media/upload-from-url',
     { url => { href => 'http://127.0.0.1/x' } }],
    ['upload-from-url: url true', POST => '/api/v1/media/upload-from-url',
     { url => JSON::PP::true }],
    ['upload-from-url: externalId array', POST => '/api/v1/media/upload-from-url',
     { url => 'http://127.0.0.1:9/x.jpg', externalId => ['a'] }],
    ['upload-from-url: externalId 256', POST => '/api/v1/media/upload-from-url',
     { url => 'http://127.0.0.1:9/x.jpg', externalId => $long }],
    ['upload-from-url: url with newline', POST => '/api/v1/media/upload-from-url',
     { url => "http://127.0.0.1:9/x\n.jpg" }],
    ['bulk: operations null', POST => '/api/v1/media/bulk', { operations => undef }],
    ['bulk: operations string', POST => '/api/v1/media/bulk', { operations => 'delete' }],
    ['bulk: op null', POST => '/api/v1/media/bulk', { operations => [{ op => undef }] }],
    ['bulk: op too long', POST => '/api/v1/media/bulk', { operations => [{ op => 'x' x 100 }] }],
    ['bulk: mediaId object', POST => '/api/v1/media/bulk',
     { operations => [{ op => 'delete', mediaId => { id => 1 } }] }],
    ['bulk: mediaId bool', POST => '/api/v1/media/bulk',
     { operations => [{ op => 'unlink', mediaId => JSON::PP::true }] }],
    ['bulk: mediaId beyond int64', POST => '/api/v1/media/bulk',
     '{"operations": [{"op": "unlink", "mediaId": 9223372036854775808}]}'],
    ['bulk: mediaId 1.0', POST => '/api/v1/media/bulk',
     '{"operations": [{"op": "unlink", "mediaId": 1.0}]}'],
    ['bulk: delete externalId 256', POST => '/api/v1/media/bulk',
     { operations => [{ op => 'delete', externalId => $long }] }],
    ['bulk: confirm uuid number', POST => '/api/v1/media/bulk',
     { operations => [{ op => 'confirm-upload', uuid => 5, generatedFileName => 'x' }] }],
    ['listing: externalId number', PUT => '/api/v1/listings', { externalId => 5 }],
    ['listing: externalId 256', PUT => '/api/v1/listings', { externalId => $long }],
    ['listing: externalId empty', PUT => '/api/v1/listings', { externalId => '' }],
    ['listing: title number', PUT => '/api/v1/listings', { externalId => 'bad-L', title => 5 }],
    ['listing: title 501', PUT => '/api/v1/listings', { externalId => 'bad-L', title => 'x' x 501 }],
    ['listing: announcementStatus number', PUT => '/api/v1/listings',
     { externalId => 'bad-L', announcementStatus => 1 }],
    ['listing: announcementStatus 65', PUT => '/api/v1/listings',
     { externalId => 'bad-L', announcementStatus => 'x' x 65 }],
    ['listing: files null entry', PUT => '/api/v1/listings',
     { externalId => 'bad-L', files => [undef] }],
    ['listing: file id string', PUT => '/api/v1/listings',
     { externalId => 'bad-L', files => [{ id => "$id" }] }],
    ['listing: file id 0', PUT => '/api/v1/listings',
     { externalId => 'bad-L', files => [{ id => 0 }] }],
    ['listing: file url ftp', PUT => '/api/v1/listings',
     { externalId => 'bad-L', files => [{ url => 'ftp://127.0.0.1/x', externalFileId => 'bad-f' }] }],
    ['listing: externalFileId 256', PUT => '/api/v1/listings',
     { externalId => 'bad-L', files => [{ externalFileId => $long }] }],
    ['listing: externalFileId number', PUT => '/api/v1/listings',
     { externalId => 'bad-L', files => [{ externalFileId => 7 }] }],
    ['link: externalId object', POST => "/api/v1/media/$id/link", { externalId => {} }],
    ['link: externalId 256', POST => "/api/v1/media/$id/link", { externalId => $long }],
);
for my $f (@fields) {
    my ($name, $method, $path, $data) = @$f;
    check($name, $method, $path, ref $data ? $J->encode($data) : $data, 400);
}

is($t->psql("SELECT count(*) FROM media"), 1, 'no media row was written');
is($t->psql("SELECT count(*) FROM media WHERE external_id IS NOT NULL"), 0,
   'no external id was linked');
is($t->psql("SELECT count(*) FROM listings"), 0, 'no listing was written');
is($t->psql("SELECT count(*) FROM jobs WHERE kind = 'import'"), 0, 'no import was queued');

$t->no_alerts;
done_testing();

# One request: the expected status, a JSON error body, no alert logged.
sub check {
    my ($name, $method, $path, $body, $want) = @_;
    my $from = -s $t->dir . '/log/nginx-error.log';
    my $res = $t->http($method, $path, body => $body, headers => {
        Authorization => 'ApiKey ' . $t->key,
        'Content-Type' => 'application/json' });
    is($res->{status}, $want, "$name: $want")
        or diag(substr($res->{content} // '', 0, 300));
    my $j = $res->{json};
    ok(ref $j eq 'HASH' && !ref $j->{error} && defined $j->{error}
       && defined $j->{error_code} && keys %$j == 2,
       "$name: {error, error_code}")
        or diag(substr($res->{content} // '', 0, 300));
    Time::HiRes::sleep(0.05);
    my $alerts = $t->error_log_alerts($from);
    ok(!@$alerts, "$name: no alert") or diag(join '', @$alerts);
}
