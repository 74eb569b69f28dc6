# The harness itself: block parsing, variables, JSON matching.  No stack.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use MediaTest;

my $J = JSON::PP->new;
sub m_ok  { my @d = json_match($J->decode($_[0]), $J->decode($_[1]));
            ok(!@d, "match: $_[0] ~ $_[1]") or diag(join "\n", @d) }
sub m_nok { my @d = json_match($J->decode($_[0]), $J->decode($_[1]));
            ok(@d, "no match: $_[0] ~ $_[1]") }

m_ok('{"a":1,"b":"x"}', '{"b":"x","a":1}');
m_nok('{"a":1,"b":"x"}', '{"a":1}');                 # extra key
m_ok('{"a":1,"b":"x"}', '{"a":1,"...":""}');         # subset
m_nok('{"a":1}', '{"a":1,"b":"*"}');                 # missing key
m_ok('{"a":null}', '{"a":"*"}');
m_nok('{"a":"128"}', '{"a":128}');                   # string vs number
m_nok('{"a":128}', '{"a":"128"}');
m_nok('{"a":1}', '{"a":true}');
m_ok('{"a":true}', '{"a":"*bool"}');
m_ok('{"a":5}', '{"a":"*number"}');
m_nok('{"a":"5"}', '{"a":"*number"}');
m_ok('{"a":"5"}', '{"a":"*string"}');
m_nok('{"a":null}', '{"a":"*string"}');
m_ok('{"u":"0123456789abcdef0123456789abcdef"}', '{"u":"~^[0-9a-f]{32}$"}');
m_nok('{"u":"0123456789ABCDEF0123456789abcdef"}', '{"u":"~^[0-9a-f]{32}$"}');
m_nok('{"u":12}', '{"u":"~^\\\\d+$"}');               # regex: strings only
m_ok('[1,2,3]', '[1,2,3]');
m_nok('[1,2,3]', '[1,2]');
m_ok('[1,2,3]', '[1,"..."]');
m_nok('[]', '[1,"..."]');
m_ok('{"v":[{"s":"128","n":1},{"s":"512","n":2}]}',
     '{"v":[{"s":"128","n":"*number"},{"s":"512","n":"*"}]}');
m_nok('{"v":[{"s":"128","n":1}]}', '{"v":[{"s":"128"}]}');
m_ok('1.5', '1.5');
m_nok('null', '0');

# Variables.
var(key => 'mk_abc', n => 7);
is(MediaTest::Blocks::subst('ApiKey $key, ${n}x, $$5, ^\d+$"', 't'),
   'ApiKey mk_abc, 7x, $5, ^\d+$"', 'substitution');
ok(!eval { MediaTest::Blocks::subst('$nosuch', 't'); 1 }, 'unknown var dies');
like($@, qr/undefined variable \$nosuch/, '... naming it');

# Parsing (this file's own __DATA__).
my @b = blocks();
is(scalar @b, 2, 'two blocks');
is($b[0]{name}, 'TEST 1: first', 'block name');
is($b[0]{sections}{request}, "POST /api/x\n{\"a\":\n  1}", 'multi-line request');
is($b[0]{sections}{error_code}, '400', 'inline value');
is($b[0]{sections}{more_headers}, "A: 1\nB: two words", 'headers');
is($b[1]{sections}{request}, 'GET /y', 'trailing blank lines dropped');
is_deeply(MediaTest::Blocks::headers("A: 1\nA: 2\nB:"),
          { A => [1, 2], B => '' }, 'repeated and empty headers');

done_testing();

__DATA__

=== TEST 1: first
--- request
POST /api/x
{"a":
  1}
--- more_headers
A: 1
B: two words
--- error_code: 400

=== TEST 2: second
--- request
GET /y


