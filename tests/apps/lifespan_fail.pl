# Test app: its lifespan startup fails with a message; the server must not serve.
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "not an http app\n" unless $scope->{type} eq 'lifespan';
  my $event = await $receive->();
  await $send->({type => 'lifespan.startup.failed', message => 'database unreachable'});
};
