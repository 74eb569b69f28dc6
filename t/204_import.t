# POST .../images/import and GET .../images/import/:jobId: 202 with
# {jobId, status: "pending", totalUrls}, the poll shape, validation (1 to
# 20 URLs, each at most 2048 characters, http(s) only), the monthly import
# budget (IMPORT_BUDGET_EXHAUSTED), the image quota, JOB_NOT_FOUND, and the
# import itself: the worker fetches from a file server this test runs on
# 127.0.0.1 (import_allow => 127.0.0.1/32): one good JPEG and one 404 give
# a completed job with imported 1, failed 1 and the failed URL in errors.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;
use RentixTest ();
use RentalotTest;

my $t = MediaTest->start(import_allow => '127.0.0.1/32');
my $fs = RentixTest::FileServer->start($t->dir . '/files');
my $tenant = $t->tenant;

my $jpeg = make_image($t, 'garden.jpg', 640, 480);
$fs->put('garden.jpg', $jpeg, 'image/jpeg');
my ($good, $missing) = ($fs->url('garden.jpg'), $fs->url('missing.jpg'));

my $p = property($t, 'Import flat');
my $p2 = property($t, 'Import flat 2');
my $op = property($t, 'Other import flat', key => $t->other_key);
my $uuid = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
my $iso = '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$';

sub import_urls {
    my ($pid, $body, %o) = @_;
    return rl_api($t, POST => "/api/v1/properties/$pid/images/import", $body, %o);
}
sub poll {
    my ($pid, $job, %o) = @_;
    return rl_api($t, GET => "/api/v1/properties/$pid/images/import/$job", undef, %o);
}
sub imports { $t->psql("SELECT count(*) FROM media WHERE source_url IS NOT NULL") }

# --- validation: nothing is imported ----------------------------------------
my $long = $fs->url('long?q=');
for my $case (
    [ '21 URLs', { urls => [ map { $fs->url("p$_.jpg") } 1 .. 21 ] }, 'VALIDATION_ERROR' ],
    [ 'no URLs', { urls => [] }, 'VALIDATION_ERROR' ],
    [ 'urls not an array', { urls => $good }, 'VALIDATION_ERROR' ],
    [ 'urls missing', { url => $good }, 'VALIDATION_ERROR' ],
    [ 'a URL of 2049 characters',
      { urls => [ $good, $long . ('a' x (2049 - length $long)) ] }, 'VALIDATION_ERROR' ],
    [ 'a URL that is not a string', { urls => [ $good, 17 ] }, 'VALIDATION_ERROR' ],
    [ 'an ftp URL', { urls => [ 'ftp://127.0.0.1/a.jpg' ] }, 'INVALID_URL' ],
    [ 'a URL without a host', { urls => [ 'http:///a.jpg' ] }, 'INVALID_URL' ],
) {
    my ($name, $body, $code) = @$case;
    my $res = import_urls($p, $body);
    is($res->{status}, 422, "import, $name: 422") or diag($res->{content});
    is(err_code($res), $code, "... $code");
}
my $res = import_urls(987654321, { urls => [ $good ] });
is(err_code($res), 'PROPERTY_NOT_FOUND', 'import to an unknown property: PROPERTY_NOT_FOUND');
$res = import_urls($op, { urls => [ $good ] });
is(err_code($res), 'PROPERTY_NOT_FOUND', "import to another tenant's property: PROPERTY_NOT_FOUND");
$res = import_urls($p, '{"urls": [');
is($res->{status}, 400, 'import with malformed JSON: 400');
is(err_code($res), 'INVALID_JSON', '... INVALID_JSON');
is(imports(), 0, 'the refused imports created nothing');
is($fs->hits('garden.jpg'), 0, '... and fetched nothing');

# --- a 2048-character URL is accepted ------------------------------------------
$res = import_urls($p2, { urls => [ $long . ('a' x (2048 - length $long)) ] });
is($res->{status}, 202, 'a URL of 2048 characters: 202') or diag($res->{content});

# --- the import -------------------------------------------------------------
$res = import_urls($p, { urls => [ $good, $missing ] });
is($res->{status}, 202, 'import of 2 URLs: 202') or diag($res->{content});
my @diff = json_match($res->{json}, { data => { jobId => "~$uuid",
    status => 'pending', totalUrls => 2 } });
ok(!@diff, '... {data: {jobId, status: "pending", totalUrls: 2}}')
    or diag(join "\n", @diff, $res->{content});
like($res->{content}, qr/^\{"data":\{"jobId":"[^"]+","status":"pending","totalUrls":2\}\}$/,
     '... keys in the documented order');
my $job = $res->{json}{data}{jobId} // 'none';

$res = poll($p, $job);
is($res->{status}, 200, 'poll: 200') or diag($res->{content});
@diff = json_match($res->{json}, { data => { jobId => $job,
    status => '~^(pending|processing|completed)$', totalUrls => 2,
    imported => '*number', failed => '*number', totalBytes => '*number',
    errors => '*array', createdAt => "~$iso", completedAt => '*' } });
ok(!@diff, '... {jobId, status, totalUrls, imported, failed, totalBytes, '
           . 'errors, createdAt, completedAt}') or diag(join "\n", @diff, $res->{content});

for my $case (
    [ 'an unknown job', $p, '00000000-0000-4000-8000-000000000000' ],
    [ 'a job id that is not a uuid', $p, 'not-a-job' ],
    [ 'the job under another property', $p2, $job ],
) {
    my ($name, $pid, $id) = @$case;
    $res = poll($pid, $id);
    is($res->{status}, 404, "poll $name: 404") or diag($res->{content});
    is(err_code($res), 'JOB_NOT_FOUND', '... JOB_NOT_FOUND');
}
$res = poll($op, $job, key => $t->other_key);
is($res->{status}, 404, "the other tenant polls the job on its property: 404");
is(err_code($res), 'JOB_NOT_FOUND', '... JOB_NOT_FOUND');
$res = poll($p, $job, key => $t->other_key);
is(err_code($res), 'PROPERTY_NOT_FOUND',
   "the other tenant polls under this tenant's property: PROPERTY_NOT_FOUND");

{
    my $last;
    $t->wait_until(sub {
        $last = poll($p, $job)->{json};
        return ($last->{data}{status} // '') =~ /^(completed|failed)$/;
    }, timeout => 90, interval => 0.25);
    @diff = json_match($last, { data => { jobId => $job, status => 'completed',
        totalUrls => 2, imported => 1, failed => 1, totalBytes => length $jpeg,
        errors => [ { url => $missing, error => '*string', message => '*string' } ],
        createdAt => "~$iso", completedAt => "~$iso" } });
    ok(!@diff, 'the job completes: imported 1, failed 1, totalBytes, the failed URL in errors')
        or diag(join "\n", @diff, encode_json($last // {}));
    cmp_ok($last->{data}{completedAt} // '', 'ge', $last->{data}{createdAt} // '',
           '... completedAt is not before createdAt');
    is($fs->hits('garden.jpg'), 1, '... the good URL was fetched once');

    my $imgs = images($t, $p);
    is(scalar @$imgs, 1, 'the property lists the imported image only');
    my $mid = @$imgs ? media_id($t, $imgs->[0]{id}) : 0;
    is($t->psql("SELECT source_url FROM media WHERE id = $mid"), $good,
       '... the one from the good URL');
    my $m = $t->wait_optimized($mid, timeout => 60);
    is($m->{optimization}, 'success', '... optimized');
    my $file = $t->http(GET => $imgs->[0]{url} // '/');
    ok($file->{status} == 200 && $file->{content} eq $jpeg,
       '... its url serves the imported bytes');
}

# --- the monthly budget (the other tenant: nothing imported yet) ------------------
my $ot = $t->other_tenant;
set_limits($t, $ot, budget => 2);
$res = import_urls($op, { urls => [ map { $fs->url("b$_.jpg") } 1 .. 3 ] },
                   key => $t->other_key);
is($res->{status}, 422, 'budget 2, importing 3: 422') or diag($res->{content});
is(err_code($res), 'IMPORT_BUDGET_EXHAUSTED', '... IMPORT_BUDGET_EXHAUSTED');
$res = import_urls($op, { urls => [ map { $fs->url("b$_.jpg") } 1 .. 2 ] },
                   key => $t->other_key);
is($res->{status}, 202, 'importing 2: 202') or diag($res->{content});
$res = import_urls($op, { urls => [ $fs->url('b3.jpg') ] }, key => $t->other_key);
is(err_code($res), 'IMPORT_BUDGET_EXHAUSTED', 'then 1 more: IMPORT_BUDGET_EXHAUSTED');
my $op2 = property($t, 'Other import flat 2', key => $t->other_key);
$res = import_urls($op2, { urls => [ $fs->url('b3.jpg') ] }, key => $t->other_key);
is(err_code($res), 'IMPORT_BUDGET_EXHAUSTED', '... also for another property of the tenant');
is($t->psql("SELECT count(*) FROM media WHERE tenant_id = $ot"), 2,
   'the refused imports created no media');
set_limits($t, $ot, budget => 3);
$res = import_urls($op2, { urls => [ $fs->url('b3.jpg') ] }, key => $t->other_key);
is($res->{status}, 202, 'budget raised to 3: importing 1 more is 202');

# --- the image quota applies to imports -------------------------------------
set_limits($t, $ot, images => 3, budget => 100);
my $op3 = property($t, 'Other import flat 3', key => $t->other_key);
$res = import_urls($op3, { urls => [ map { $fs->url("q$_.jpg") } 1 .. 4 ] },
                   key => $t->other_key);
is($res->{status}, 422, 'quota 3, importing 4 to an empty property: 422')
    or diag($res->{content});
is(err_code($res), 'IMAGE_LIMIT_REACHED', '... IMAGE_LIMIT_REACHED');
$res = import_urls($op3, { urls => [ map { $fs->url("q$_.jpg") } 1 .. 3 ] },
                   key => $t->other_key);
is($res->{status}, 202, '... importing 3: 202') or diag($res->{content});

$t->no_alerts;
done_testing();
