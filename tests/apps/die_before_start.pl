# Test app: dies before sending anything (the server answers with its 500 backstop).
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  die "deliberate failure before start\n" if $scope->{path} ne '/ok';
  await $send->({type => 'http.response.start', status => 200, headers => []});
  await $send->({type => 'http.response.body', body => 'fine'});
};
