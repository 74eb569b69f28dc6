# PUT /api/v1/listings and GET /api/v1/listings/:externalId: create and
# update by externalId keeping the fields given, files by {id},
# {externalFileId} and {url, externalFileId} in order, reuse of an already
# uploaded file, the limits (20 files, 3 photos to publish) with nothing
# written on refusal, unknown files, and the derived status: draft,
# waiting_for_media while files optimize, active once 3 are optimized,
# media_failed with mediaErrors when one is corrupt.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;
use RentixTest;

my $t = MediaTest->start(import_allow => '127.0.0.1/32');
my $J = JSON::PP->new->canonical;
my $fs = RentixTest::FileServer->start($t->dir . '/files');
my @blocks = blocks();
my %b = map { $blocks[$_]{name} =~ /^TEST (\d+):/ ? ($1 => $blocks[$_]) : () }
        0 .. $#blocks;
sub run_tests { run_blocks(map { $b{$_} // die "no TEST $_" } @_) }
sub media_count { $t->psql('SELECT count(*) FROM media') }

# Five optimized photos lst-1 .. lst-5 and a corrupt JPEG lst-bad.
my %id;
for my $i (1 .. 5) {
    $id{"ok$i"} = $t->upload(content => make_image($t, "ok$i.jpg", 320, 240),
                             name => "ok$i.jpg",
                             external_id => "lst-$i")->{media_id};
}
my $corrupt = "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            . join('', map { chr(($_ * 37) % 256) } 1 .. 4000);
$id{bad} = $t->upload(content => $corrupt, name => 'bad.jpg',
                      external_id => 'lst-bad')->{media_id};
for my $n (sort keys %id) {
    my $m = $t->wait_optimized($id{$n}, timeout => 60);
    is($m->{optimization}, $n eq 'bad' ? 'failed' : 'success',
       "$n: optimization $m->{optimization}");
}
# Twenty more files (not images: fine for a draft) for the 20-file limit.
my @many = map { $t->upload(content => "file $_", name => "m$_.jpg")->{media_id} }
           1 .. 21;

var(%id, ext_256 => 'x' x 256, title_501 => 'x' x 501,
    files_20 => $J->encode([ map { { id => $_ } } @many[0 .. 19] ]),
    files_21 => $J->encode([ map { { id => $_ } } @many ]),
    url_4 => $fs->url('four.jpg'), url_new => $fs->url('new.jpg'));
$fs->put('four.jpg', make_image($t, 'four.jpg', 100, 100), 'image/jpeg');
$fs->put('new.jpg', make_image($t, 'new.jpg', 100, 100), 'image/jpeg');

# --- create, read, update ----------------------------------------------
run_tests(1 .. 11);

# --- refusals write nothing ----------------------------------------------
my $before = media_count();
my $rows = $t->psql('SELECT count(*) FROM listings');
run_tests(12 .. 23);
is($t->psql('SELECT count(*) FROM listings'), $rows,
   'the refused PUTs created no listing');
is(media_count(), $before, '... and no media row');

# --- {url, externalFileId}: reuse, or import --------------------------
$before = media_count();
run_tests(24);
is(media_count(), $before, 'a url with a known externalFileId: no new media row');
run_tests(25);
is(media_count(), $before + 1, 'a url with a new externalFileId: one new media row');
is($t->psql("SELECT count(*) FROM jobs j JOIN media m ON m.id = j.media_id "
            . "WHERE m.external_id = 'lst-new-url' AND j.kind = 'import'"),
   1, '... with an import job');
run_tests(26);
is(media_count(), $before + 1, 'the same PUT again: still one new media row');
is($fs->hits('four.jpg'), 0, 'the reused file was not fetched');

# --- status derivation -------------------------------------------------
run_tests(27 .. 29);

# waiting_for_media: three photos still pending (the worker is paused,
# this test's own worker process, so that they cannot be processed yet).
my $wpid = MediaTest::slurp($t->dir . '/worker.pid') =~ /(\d+)/ ? $1 : die;
kill 'STOP', $wpid or die "SIGSTOP $wpid: $!";
my @pending = map {
    $t->upload(content => make_image($t, "w$_.jpg", 640, 480),
               name => "w$_.jpg", external_id => "lst-w$_")->{media_id}
} 1 .. 3;
my $res = listing_put($t, { externalId => 'L-wait', announcementStatus => 'active',
                            files => [ map { { id => $_ } } @pending ] });
kill 'CONT', $wpid;
is($res->{status}, 200, 'active with 3 pending photos: 200') or diag($res->{content});
is($res->{json}{status}, 'waiting_for_media', '... status waiting_for_media');
is($res->{json}{announcementStatus}, 'active', '... announcementStatus active');
is(join(',', map { $_->{optimization} } @{ $res->{json}{files} || [] }),
   'pending,pending,pending', '... files pending');
$res = wait_listing($t, 'L-wait', 'active', timeout => 60);
is($res->{json}{status}, 'active', 'published once the 3 photos are optimized')
    or diag($res->{content});
is(join(',', map { $_->{optimization} } @{ $res->{json}{files} || [] }),
   'success,success,success', '... all files success');
ok(!exists $res->{json}{mediaErrors}, '... no mediaErrors');

# --- the documented example: photos by URL, active at once ------------
{
    my @rooms = qw(living bedroom kitchen);
    $fs->put("$_.jpg", make_image($t, "$_.jpg", 800, 450), 'image/jpeg')
        for @rooms;
    my $doc = {
        externalId => 'apt-001', announcementStatus => 'active',
        announcementType => 'rent', propertyType => 'residential',
        propertySecondaryType => 'apartment', announcementValue => 500,
        files => [ map { { url => $fs->url("$rooms[$_].jpg"),
                           externalFileId => 'apt-001-photo-' . ($_ + 1) } }
                   0 .. 2 ] };
    $res = listing_put($t, $doc);
    is($res->{status}, 200, 'the documented example: 200') or diag($res->{content});
    like($res->{json}{status} // '', qr/^(waiting_for_media|active)$/,
         '... waiting for its photos');
    $res = wait_listing($t, 'apt-001', 'active', timeout => 90);
    is($res->{json}{status}, 'active', '... active once they are imported and optimized')
        or diag($res->{content});
    is(join(',', map { $_->{externalId} } @{ $res->{json}{files} || [] }),
       'apt-001-photo-1,apt-001-photo-2,apt-001-photo-3', '... in order');
    is(join(',', map { $_->{contentType} } @{ $res->{json}{files} || [] }),
       'image/jpeg,image/jpeg,image/jpeg', '... JPEGs');
    $before = media_count();
    $res = listing_put($t, $doc);
    is(media_count(), $before, 'the same request again imports nothing new');
    is($fs->hits("$_.jpg"), 1, "$_.jpg fetched once") for @rooms;
}

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: create a listing with files by id
--- request
PUT /api/v1/listings
{"externalId": "L1", "title": "Flat", "announcementType": "rent", "propertyType": "residential",
 "announcementValue": 500, "files": [{"id": $ok1}, {"id": $ok2}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": "*number", "externalId": "L1", "status": "draft", "announcementStatus": "draft",
 "title": "Flat", "announcementType": "rent", "propertyType": "residential", "announcementValue": 500,
 "files": [
   {"order": 0, "id": $ok1, "externalId": "lst-1", "size": "*number", "contentType": "image/jpeg",
    "optimization": "success", "blurhash": "*string", "originalUrl": "*string",
    "variants": [{"url": "*string", "variantSize": "128", "size": "*number"}, "..."]},
   {"order": 1, "id": $ok2, "externalId": "lst-2", "...": "*"}],
 "createdAt": "*string", "updatedAt": "*string"}
--- set
l1_id = id

=== TEST 2: GET it
--- request
GET /api/v1/listings/L1
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $l1_id, "externalId": "L1", "status": "draft", "announcementStatus": "draft",
 "title": "Flat", "announcementType": "rent", "propertyType": "residential", "announcementValue": 500,
 "files": [{"order": 0, "id": $ok1, "...": "*"}, {"order": 1, "id": $ok2, "...": "*"}],
 "createdAt": "*string", "updatedAt": "*string"}

=== TEST 3: an update keeps the fields it does not give, and the files
--- request
PUT /api/v1/listings
{"externalId": "L1", "announcementValue": 600, "propertySecondaryType": "apartment"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $l1_id, "externalId": "L1", "status": "draft", "announcementStatus": "draft",
 "title": "Flat", "announcementType": "rent", "propertyType": "residential", "announcementValue": 600,
 "propertySecondaryType": "apartment",
 "files": [{"order": 0, "id": $ok1, "...": "*"}, {"order": 1, "id": $ok2, "...": "*"}],
 "createdAt": "*string", "updatedAt": "*string"}

=== TEST 4: files by externalFileId, in the order given
--- request
PUT /api/v1/listings
{"externalId": "L1", "files": [{"externalFileId": "lst-3"}, {"externalFileId": "lst-1"}, {"externalFileId": "lst-2"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $l1_id, "externalId": "L1", "status": "draft", "...": "*",
 "files": [{"order": 0, "id": $ok3, "externalId": "lst-3", "...": "*"},
           {"order": 1, "id": $ok1, "externalId": "lst-1", "...": "*"},
           {"order": 2, "id": $ok2, "externalId": "lst-2", "...": "*"}]}

=== TEST 5: publish: active with 3 optimized photos
--- request
PUT /api/v1/listings
{"externalId": "L1", "announcementStatus": "active"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $l1_id, "externalId": "L1", "status": "active", "announcementStatus": "active",
 "title": "Flat", "announcementValue": 600, "...": "*",
 "files": [{"order": 0, "id": $ok3, "...": "*"}, {"order": 1, "id": $ok1, "...": "*"},
           {"order": 2, "id": $ok2, "...": "*"}]}

=== TEST 6: a mix of {id}, {externalFileId} and {url, externalFileId}, in order
--- request
PUT /api/v1/listings
{"externalId": "L-mix", "files": [{"externalFileId": "lst-5"}, {"url": "$url_4", "externalFileId": "lst-4"}, {"id": $ok1}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": "*number", "externalId": "L-mix", "status": "draft", "...": "*",
 "files": [{"order": 0, "id": $ok5, "...": "*"}, {"order": 1, "id": $ok4, "...": "*"},
           {"order": 2, "id": $ok1, "...": "*"}]}

=== TEST 7: an empty files array empties the listing
--- request
PUT /api/v1/listings
{"externalId": "L-mix", "files": []}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"externalId": "L-mix", "status": "draft", "files": [], "...": "*"}

=== TEST 8: 20 files are allowed
--- request
PUT /api/v1/listings
{"externalId": "L-20", "files": $files_20}
--- more_headers
Authorization: ApiKey $key
--- response_body_like
"order":19,.*"createdAt"

=== TEST 9: a minimal listing: only externalId
--- request
PUT /api/v1/listings
{"externalId": "L-min"}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": "*number", "externalId": "L-min", "status": "draft", "announcementStatus": "draft",
 "title": null, "files": [], "createdAt": "*string", "updatedAt": "*string"}

=== TEST 10: GET an unknown listing
--- request
GET /api/v1/listings/no-such-listing
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "Listing not found", "error_code": "LISTING_NOT_FOUND"}

=== TEST 11: GET with an externalId of 256 characters
--- request
GET /api/v1/listings/$ext_256
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "*string"}

=== TEST 12: 21 files are too many
--- request
PUT /api/v1/listings
{"externalId": "L-21", "files": $files_21}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "TOO_MANY_FILES"}

=== TEST 13: active with 2 photos: NOT_ENOUGH_PHOTOS
--- request
PUT /api/v1/listings
{"externalId": "L1", "announcementStatus": "active", "announcementValue": 1,
 "files": [{"id": $ok1}, {"id": $ok2}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "NOT_ENOUGH_PHOTOS"}

=== TEST 14: ... and the listing is as it was
--- request
GET /api/v1/listings/L1
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $l1_id, "externalId": "L1", "status": "active", "announcementStatus": "active",
 "announcementValue": 600, "...": "*",
 "files": [{"order": 0, "id": $ok3, "...": "*"}, {"order": 1, "id": $ok1, "...": "*"},
           {"order": 2, "id": $ok2, "...": "*"}]}

=== TEST 15: a new listing, active with 1 photo: NOT_ENOUGH_PHOTOS
--- request
PUT /api/v1/listings
{"externalId": "L-few", "announcementStatus": "active", "files": [{"id": $ok1}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "NOT_ENOUGH_PHOTOS"}

=== TEST 16: ... was not created
--- request
GET /api/v1/listings/L-few
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "Listing not found", "error_code": "LISTING_NOT_FOUND"}

=== TEST 17: an unknown file id
--- request
PUT /api/v1/listings
{"externalId": "L1", "files": [{"id": $ok1}, {"id": 999999}, {"id": $ok2}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "~File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 18: an unknown externalFileId
--- request
PUT /api/v1/listings
{"externalId": "L-unknown", "files": [{"externalFileId": "no-such-file"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 404
--- response_body_json
{"error": "~File not found", "error_code": "FILE_NOT_FOUND"}

=== TEST 19: the same file twice
--- request
PUT /api/v1/listings
{"externalId": "L-dup", "files": [{"id": $ok1}, {"externalFileId": "lst-1"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "DUPLICATE_FILE"}

=== TEST 20: L1 still has its three files after the refused updates
--- request
GET /api/v1/listings/L1
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"id": $l1_id, "status": "active", "announcementValue": 600, "...": "*",
 "files": [{"order": 0, "id": $ok3, "...": "*"}, {"order": 1, "id": $ok1, "...": "*"},
           {"order": 2, "id": $ok2, "...": "*"}]}

=== TEST 21: externalId missing
--- request
PUT /api/v1/listings
{"title": "no id", "files": []}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "externalId is required", "error_code": "VALIDATION_ERROR"}

=== TEST 22: a file entry with nothing to find it by
--- request
PUT /api/v1/listings
{"externalId": "L-bad-1", "files": [{"alt": "x"}]}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 23: files not an array
--- request
PUT /api/v1/listings
{"externalId": "L-bad-2", "files": {"id": $ok1}}
--- more_headers
Authorization: ApiKey $key
--- error_code: 400
--- response_body_json
{"error": "*string", "error_code": "VALIDATION_ERROR"}

=== TEST 24: {url, externalFileId} of a file already uploaded reuses it
--- request
PUT /api/v1/listings
{"externalId": "L-reuse", "files": [{"url": "$url_4", "externalFileId": "lst-4"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"externalId": "L-reuse", "status": "draft", "...": "*",
 "files": [{"order": 0, "id": $ok4, "externalId": "lst-4", "optimization": "success", "...": "*"}]}

=== TEST 25: {url, externalFileId} of a new file imports it
--- request
PUT /api/v1/listings
{"externalId": "L-url", "files": [{"url": "$url_new", "externalFileId": "lst-new-url"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"externalId": "L-url", "status": "draft", "...": "*",
 "files": [{"order": 0, "id": "*number", "externalId": "lst-new-url", "...": "*"}]}
--- set
new_url_id = files.0.id

=== TEST 26: the same again reuses the imported file
--- request
PUT /api/v1/listings
{"externalId": "L-url", "files": [{"url": "$url_new", "externalFileId": "lst-new-url"}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"externalId": "L-url", "...": "*",
 "files": [{"order": 0, "id": $new_url_id, "externalId": "lst-new-url", "...": "*"}]}

=== TEST 27: active with a corrupt photo: media_failed, and mediaErrors says which
--- request
PUT /api/v1/listings
{"externalId": "L-fail", "announcementStatus": "active",
 "files": [{"id": $ok1}, {"externalFileId": "lst-bad"}, {"id": $ok2}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"externalId": "L-fail", "status": "media_failed", "announcementStatus": "active", "...": "*",
 "files": [{"order": 0, "id": $ok1, "...": "*"},
           {"order": 1, "id": $bad, "externalId": "lst-bad", "optimization": "failed", "...": "*"},
           {"order": 2, "id": $ok2, "...": "*"}],
 "mediaErrors": [{"id": $bad, "externalId": "lst-bad", "error": "*string", "reason": "*string"}]}

=== TEST 28: GET shows the same
--- request
GET /api/v1/listings/L-fail
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"externalId": "L-fail", "status": "media_failed", "...": "*",
 "mediaErrors": [{"id": $bad, "externalId": "lst-bad", "error": "*string", "reason": "*string"}]}

=== TEST 29: replacing the corrupt photo publishes it
--- request
PUT /api/v1/listings
{"externalId": "L-fail", "files": [{"id": $ok1}, {"id": $ok5}, {"id": $ok2}]}
--- more_headers
Authorization: ApiKey $key
--- response_body_json
{"externalId": "L-fail", "status": "active", "announcementStatus": "active", "...": "*",
 "files": [{"order": 0, "id": $ok1, "...": "*"}, {"order": 1, "id": $ok5, "...": "*"},
           {"order": 2, "id": $ok2, "...": "*"}]}
