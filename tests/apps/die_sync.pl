# Test app: a plain (not async) sub that dies at once, before returning any Future.
use strict;
use warnings;

sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  die "synchronous failure\n";
};
