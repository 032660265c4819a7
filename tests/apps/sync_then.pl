# Test app without Future::AsyncAwait: chains the send Futures with ->then.
use strict;
use warnings;
use Future;

sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  return $send->({type => 'http.response.start', status => 201,
                  headers => [['content-type', 'text/plain']]})->then(sub {
    $send->({type => 'http.response.body', body => 'created'});
  });
};
