# Test app: streams a body slowly but steadily (a piece every 0.25 s, six pieces), so a
# --request-timeout of 1 s must not cut it: every send resets the stall timer.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  for my $i (1 .. 6) {
    await Future::IO->sleep(0.25);
    await $send->({type => 'http.response.body', body => "piece$i\n", more => $i < 6 ? 1 : 0});
  }
};
