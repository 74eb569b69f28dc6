# The signed PUT receiver: signature, expiry, Content-Type, byte count,
# method and length checks; the stored file and its upload row; a failed
# or aborted upload leaves nothing visible.
use strict;
use warnings;
use Test::More;
use URI;
use MediaTest;

my $t = MediaTest->start;
my $store = $t->dir . '/store/' . $t->tenant;
my $content = join '', map { chr(($_ * 7) % 256) } 0 .. 99;    # 100 bytes

# Signed URLs from the module: one to succeed, one to abuse, one for the
# aborted upload, one for a short body.
my $res = $t->api(POST => '/api/v1/media/request-upload-url', { files => [
    { fileName => 'good.jpg',  size => 100,  contentType => 'image/jpeg' },
    { fileName => 'bad.jpg',   size => 100,  contentType => 'image/jpeg' },
    { fileName => 'abort.jpg', size => 1000, contentType => 'image/jpeg' },
    { fileName => 'short.png', size => 100,  contentType => 'image/png' } ] });
$res->{status} == 200 or die "request-upload-url: $res->{content}";
my ($good, $bad, $abort, $short) = @{ $res->{json}{upload} };

# Variations of the bad URL: each changes what the signature covers.
my $u = URI->new($bad->{url});
my %q = $u->query_form;
sub with {              # the bad URL with query values replaced or dropped
    my %set = @_;
    my @pairs = $u->query_form;
    my @out;
    while (my ($k, $v) = splice @pairs, 0, 2) {
        next if exists $set{$k} && !defined $set{$k};
        push @out, $k, exists $set{$k} ? $set{$k} : $v;
    }
    my $x = $u->clone;
    $x->query_form(@out);
    return "$x";
}
(my $flipped = $q{sig}) =~ s/^(.)/$1 eq '0' ? '1' : '0'/e;
my $other_path = URI->new($bad->{url});
$other_path->path('/upload/' . $t->other_tenant . "/$bad->{generatedFileName}");
my $renamed = URI->new($bad->{url});
(my $p = $renamed->path) =~ s/bad\.jpg$/evil.jpg/;
$renamed->path($p);
my $object_key = $t->tenant . "/$bad->{generatedFileName}";

var(good_url => $good->{url}, good_name => $good->{generatedFileName},
    bad_url => $bad->{url}, bad_name => $bad->{generatedFileName},
    content => $content,
    body_101 => $content . 'x',
    flipped_sig => with(sig => $flipped),
    short_sig => with(sig => substr($q{sig}, 0, 63)),
    junk_sig => with(sig => 'zz' x 32),
    no_sig => with(sig => undef),
    type_changed => with(type => 'image/png'),
    size_changed => with(size => 1000),
    expires_changed => with(expires => $q{expires} + 3600),
    other_tenant_url => "$other_path",
    renamed_url => "$renamed",
    expired_url => $t->signed_url(object_key => $object_key,
                                  type => 'image/jpeg', size => 100,
                                  expires => time - 60));

run_blocks();

# The stored file and its upload row.
is(MediaTest::slurp("$store/$good->{generatedFileName}"), $content,
   'the file is in the store under tenant/generatedFileName');
is($t->psql("SELECT content_type || ' ' || size FROM uploads "
            . "WHERE object_key = '" . $t->tenant . "/$good->{generatedFileName}'"),
   'image/jpeg 100', 'the upload is recorded with its type and size');
ok(!-e "$store/$bad->{generatedFileName}", 'no file from the refused PUTs');
is($t->psql("SELECT count(*) FROM uploads WHERE object_key = '$object_key'"),
   0, 'no upload row from the refused PUTs');

# A body shorter than declared is within the limit.
my $put = $t->http(PUT => $short->{url}, body => 'x' x 50,
                   headers => { 'Content-Type' => 'image/png' });
is($put->{status}, 200, 'a body shorter than declared is accepted')
    or diag($put->{content});
is(-s "$store/$short->{generatedFileName}", 50, '... and stored as sent');

# No Content-Length (chunked): 411.
my $path = URI->new($good->{url})->path_query;
my $r = MediaTest::parse_response($t->raw(
    "PUT $path HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
    . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    . "5\r\nhello\r\n0\r\n\r\n"));
is($r->{status}, 411, 'chunked PUT: 411');
is($r->{json}{error_code}, 'LENGTH_REQUIRED', 'chunked PUT: LENGTH_REQUIRED')
    or diag($r->{content});
is(MediaTest::slurp("$store/$good->{generatedFileName}"), $content,
   'chunked PUT: the stored file is unchanged');

# Aborted upload: Content-Length 1000, 10 bytes, then the client goes away.
# Nothing may be visible at the final name, during or after.
my $apath = URI->new($abort->{url})->path_query;
my $afile = "$store/$abort->{generatedFileName}";
my $sock = $t->raw("PUT $apath HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   . "Content-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n"
                   . ('y' x 10), keep_open => 1);
Time::HiRes::sleep(0.5);
ok(!-e $afile, 'during a partial upload nothing is at the final name');
is($t->http(GET => "/files/" . $t->tenant . "/$abort->{generatedFileName}")
     ->{status}, 404, 'during a partial upload GET /files/... is 404');
close $sock;
my $gone = $t->wait_until(sub { !-e $afile && !glob($t->dir . '/store/.tmp/*') },
                          timeout => 5);
ok(!-e $afile, 'after the client went away nothing is at the final name');
ok($gone, 'and no temporary file is left in store/.tmp');
is($t->psql("SELECT count(*) FROM uploads WHERE object_key = '"
            . $t->tenant . "/$abort->{generatedFileName}'"),
   0, 'and no upload row');

# The same URL still works afterwards with the whole body.
$put = $t->http(PUT => $abort->{url}, body => 'z' x 1000,
                headers => { 'Content-Type' => 'image/jpeg' });
is($put->{status}, 200, 'the URL of the aborted upload still works');
is(-s $afile, 1000, '... and stores all 1000 bytes');

$t->no_alerts;
done_testing();

__DATA__

=== TEST 1: expired URL, correctly signed
--- request
PUT $expired_url
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Upload URL expired", "error_code": "UPLOAD_URL_EXPIRED"}

=== TEST 2: signature changed
--- request
PUT $flipped_sig
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 3: signature cut short
--- request
PUT $short_sig
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 4: signature not hex
--- request
PUT $junk_sig
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 5: no signature
--- request
PUT $no_sig
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 6: signed type changed in the URL
--- request
PUT $type_changed
$content
--- more_headers
Content-Type: image/png
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 7: signed size raised in the URL
--- request
PUT $size_changed
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 8: expiry pushed back in the URL
--- request
PUT $expires_changed
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 9: the signature moved to another tenant's path
--- request
PUT $other_tenant_url
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 10: the signature moved to another file name
--- request
PUT $renamed_url
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 403
--- response_body_json
{"error": "Invalid signature", "error_code": "INVALID_SIGNATURE"}

=== TEST 11: Content-Type other than the signed one
--- request
PUT $bad_url
$content
--- more_headers
Content-Type: image/png
--- error_code: 400
--- response_body_json
{"error": "Invalid content type", "error_code": "INVALID_CONTENT_TYPE"}

=== TEST 12: no Content-Type
--- request
PUT $bad_url
$content
--- error_code: 400
--- response_body_json
{"error": "Invalid content type", "error_code": "INVALID_CONTENT_TYPE"}

=== TEST 13: body one byte larger than declared
--- request
PUT $bad_url
$body_101
--- more_headers
Content-Type: image/jpeg
--- error_code: 413
--- response_body_json
{"error": "File too large", "error_code": "FILE_TOO_LARGE"}

=== TEST 14: GET on the signed URL
--- request
GET $bad_url
--- error_code: 405
--- response_body_json
{"error": "*string", "error_code": "METHOD_NOT_ALLOWED"}

=== TEST 15: POST on the signed URL
--- request
POST $bad_url
$content
--- more_headers
Content-Type: image/jpeg
--- error_code: 405
--- response_body_json
{"error": "*string", "error_code": "METHOD_NOT_ALLOWED"}

=== TEST 16: nothing is served for the refused uploads
--- request
GET /files/$tenant/$bad_name
--- error_code: 404

=== TEST 17: the good upload
--- request
PUT $good_url
$content
--- more_headers
Content-Type: image/jpeg
--- response_body_json
{"uploaded": true, "...": ""}

=== TEST 18: the uploaded file is served as it was sent
--- request
GET /files/$tenant/$good_name
--- response_body
$content
--- response_headers
Content-Type: image/jpeg
Content-Length: 100

=== TEST 19: the store's temporary directory is not served
--- request
GET /files/.tmp/
--- error_code: 404
