# Test app: awaits a Future that nothing ever resolves (the server must still be able to stop:
# at the shutdown timeout the core abandons the request).
use strict;
use warnings;
use Future;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  await Future->new;
};
