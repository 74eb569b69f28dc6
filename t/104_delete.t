# DELETE /api/v1/media/:id and /api/v1/media/external/:externalId: the
# documented bodies, 404 "File not found" afterwards and for a second
# delete, the stored original and variants removed (by the worker, from
# storage_garbage, so with a bounded wait), the file unlinked from every
# listing with the remaining order contiguous, the external id free again.
use strict;
use warnings;
use Test::More;
use MediaTest;
use RentixTest;

my $t = MediaTest->start;
my @blocks = blocks();
my %b = map { $blocks[$_]{name} =~ /^TEST (\d+):/ ? ($1 => $blocks[$_]) : () }
        0 .. $#blocks;
sub run_tests { run_blocks(map { $b{$_} // die "no TEST $_" } @_) }

# Six optimized JPEGs: f0 f2 f3 stay, d1 and d2 are deleted.
my (%id, %key);
for my $n (qw(f0 d1 f2 d2 f3 p)) {
    my $up = $t->upload(content => make_image($t, "$n.jpg", 300, 200),
                        name => "$n.jpg",
                        $n eq 'd2' ? (external_id => 'del-2') : ());
    $id{$n} = $up->{media_id};
}
for my $n (sort keys %id) {
    my $m = $t->wait_optimized($id{$n}, timeout => 60);
    is($m->{optimization}, 'success', "$n optimized");
}

# The objects of a file in the store: its original and its variants.
sub objects {
    my $id = shift;
    return [ split /\n/, $t->psql(
        "SELECT object_key FROM media WHERE id = $id UNION ALL "
        . "SELECT object_key FROM media_variants WHERE media_id = $id") ];
}
my %objects = map { $_ => objects($id{$_}) } qw(d1 d2 p);
for my $n (qw(d1 d2)) {
    is(scalar @{ $objects{$n} }, 4, "$n: an original and 3 variants");
    ok(-f store_file($t, $_), "$n: $_ is in the store") for @{ $objects{$n} };
}

my @order = qw(f0 d1 f2 d2 f3);
for my $l (['del-list', \@order], ['del-list-2', [qw(d1 f3)]]) {
    my $res = listing_put($t, { externalId => $l->[0], title => $l->[0],
        files => [ map { { id => $id{$_} } } @{ $l->[1] } ] });
    is($res->{status}, 200, "listing $l->[0] created") or diag($res->{content});
}

# A listing's files as "name:order" pairs.
my %name = reverse %id;
sub listing_files {
    my $ext = shift;
    my $res = $t->api(GET => "/api/v1/listings/$ext");
    return join ' ', map { ($name{ $_->{id} } // $_->{id}) . ":$_->{order}" }
                     @{ $res->{json}{files} || [] };
}
is(listing_files('del-list'), 'f0:0 d1:1 f2:2 d2:3 f3:4', 'listing order before');

var((map { ($_ => $id{$_}) } keys %id), ext_256 => "x" x 256);
var(d1_url => $t->api(GET => "/api/v1/media/$id{d1}")->{json}{originalUrl});

# --- delete by id ------------------------------------------------------
run_tests(1 .. 3);
# the worker removes the objects asynchronously (storage_garbage)
$t->wait_until(sub { !grep { -e store_file($t, $_) } @{ $objects{d1} } },
               timeout => 20, interval => 0.2);
run_tests(4);
is(listing_files('del-list'), 'f0:0 f2:1 d2:2 f3:3',
   'deleted by id: gone from the listing, order contiguous');
is(listing_files('del-list-2'), 'f3:0', '... and from the other listing');

# --- delete by external id ---------------------------------------------
run_tests(5 .. 8);
is(listing_files('del-list'), 'f0:0 f2:1 f3:2',
   'deleted by external id: gone from the listing, order contiguous');

# --- the stored objects go --------------------------------------------
for my $n (qw(d1 d2)) {
    for my $obj (@{ $objects{$n} }) {
        my $gone = $t->wait_until(sub { !-e store_file($t, $obj) },
                                  timeout => 20, interval => 0.2);
        ok($gone, "$n: $obj removed from the store");
    }
}
is($t->psql('SELECT count(*) FROM storage_garbage'), 0,
   'storage_garbage is drained');
is($t->psql("SELECT count(*) FROM media_variants WHERE media_id IN ($id{d1}, $id{d2})"),
   0, 'no variant rows left');
ok(-f store_file($t, $_), "the other files keep their objects: $_")
    for @{ $objects{p} };

run_tests(grep { $b{$_} } 9 .. 99);

# A file deleted while it is still pending: nothing of it stays in the
# store once the worker has seen the delete.
my $up = $t->upload(content => make_image($t, 'quick.jpg', 800, 600),
                    name => 'quick.jpg');
my $qkey = $t->psql("SELECT object_key FROM media WHERE id = $up->{media_id}");
my $res = $t->api(DELETE => "/api/v1/media/$up->{media_id}");
is($res->{content}, '{"deleted":true}', 'a file deleted right after confirm');
ok($t->wait_until(sub { !-e store_file($t, $qkey) }, timeout => 20),
   '... its original leaves the store');
sleep 2;    # let a job that was already running finish
is($t->psql("SELECT count(*) FROM media_variants WHERE media_id = $up->{media_id}"),
   0, '... no variant rows appear for it');
my @left;
$t->wait_until(sub {
    @left = grep { -f } glob($t->dir . "/store/*/v/$up->{media_id}/*");
    return !@left;
}, timeout => 20, interval => 0.2);
is(scalar @left, 0, '... and no variant objects (the job wrote them after the delete)')
    or diag("left: @left; storage_garbage: "
            . $t->psql("SELECT string_agg(object_key, ' ') FROM storage_garbage"));

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: delete by id: the documented body
--- request
DELETE /api/v1/media/$d1
--- more_headers
Authorization: ApiKey $key
--- response_body
{"deleted":true}

=== TEST 2: GET after delete
--- request
GET /api/v1/media/$d1
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 3: delete again
--- request
DELETE /api/v1/media/$d1
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 4: its original is no longer served
--- request
GET $d1_url
--- error_code: 404

=== TEST 5: delete by external id: the documented body
--- request
DELETE /api/v1/media/external/del-2
--- more_headers
Authorization: ApiKey $key
--- response_body
{"deleted":true,"mediaId":$d2}

=== TEST 6: GET by that external id after delete
--- request
GET /api/v1/media/external/del-2
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 7: GET by id after delete
--- request
GET /api/v1/media/$d2
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 8: delete by external id again
--- request
DELETE /api/v1/media/external/del-2
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 9: the external id of a deleted file is free again
--- request
POST /api/v1/media/$p/link
{"externalId": "del-2"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"mediaId": $p, "externalId": "del-2", "linked": true}

=== TEST 10: delete an unknown id
--- request
DELETE /api/v1/media/999999
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 11: delete a non-numeric id
--- request
DELETE /api/v1/media/abc
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid file id", "error_code": "INVALID_ID"}

=== TEST 12: delete id 0
--- request
DELETE /api/v1/media/0
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid file id", "error_code": "INVALID_ID"}

=== TEST 13: delete a negative id
--- request
DELETE /api/v1/media/-5
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "Invalid file id", "error_code": "INVALID_ID"}

=== TEST 14: delete an unknown external id
--- request
DELETE /api/v1/media/external/no-such
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 15: delete by an external id of 256 characters
--- request
DELETE /api/v1/media/external/$ext_256
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "INVALID_EXTERNAL_ID"}

=== TEST 16: delete without an API key changes nothing
--- request
DELETE /api/v1/media/$f0
--- error_code: 401
--- response_body_json
{"error": "*string", "error_code": "*string"}

=== TEST 17: ... the file is still there
--- request
GET /api/v1/media/$f0
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $f0, "optimization": "success", "...": "*"}
