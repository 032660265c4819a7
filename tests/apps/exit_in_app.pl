# Test app: calls exit on /exit (the server must survive it); answers normally elsewhere.
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  exit(3) if $scope->{path} eq '/exit';
  await $send->({type => 'http.response.start', status => 200, headers => []});
  await $send->({type => 'http.response.body', body => 'still here'});
};
