# Test app: returns without sending anything (the server answers 500).
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  return;
};
