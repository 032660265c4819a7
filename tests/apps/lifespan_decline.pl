# Test app without lifespan support: it dies on a lifespan scope (/die in $PAGI_TEST_DECLINE,
# the default) or returns at once ('return'). Requests say whether a lifespan call was seen.
use strict;
use warnings;
use Future::AsyncAwait;

my $lifespan_calls = 0;

async sub {
  my ($scope, $receive, $send) = @_;
  if ($scope->{type} eq 'lifespan') {
    $lifespan_calls++;
    return if ($ENV{PAGI_TEST_DECLINE} // 'die') eq 'return';
    die "Unsupported scope type: lifespan\n";
  }
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => "lifespan calls: $lifespan_calls"});
};
