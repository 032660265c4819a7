# Test app: sleeps with Future::IO (a timer on the core's ring) before answering. The
# query string is the sleep in seconds (default 0.5). /fast answers at once.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;
use Time::HiRes ();

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  my $secs = $scope->{path} eq '/fast' ? 0 : ($scope->{query_string} || 0.5);
  my $t0 = Time::HiRes::time();
  await Future::IO->sleep($secs) if $secs > 0;
  my $slept = sprintf '%.3f', Time::HiRes::time() - $t0;
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain'], ['x-slept', $slept]]});
  await $send->({type => 'http.response.body', body => "slept $slept"});
};
