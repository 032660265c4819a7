# Test app: starts a streaming response, sends one chunk, then dies (the connection closes).
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => 'partial', more => 1});
  die "deliberate failure after start\n";
};
