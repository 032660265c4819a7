# Test app: answers with the status its path names (/404 → 404), so a test knows exactly
# which statuses it caused; /die dies before answering (the 500 backstop, an app error).
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  die "deliberate\n" if $scope->{path} eq '/die';
  my ($status) = $scope->{path} =~ m{^/(\d{3})$};
  $status //= 200;
  await $send->({type => 'http.response.start', status => $status,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => "status $status\n"});
};
