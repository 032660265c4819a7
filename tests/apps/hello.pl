# Test app: the minimal async PAGI app (one start, one final body).
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'http';
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => 'Hello, World!'});
};
