# Test app for --heartbeat-timeout: /busy spins in Perl without returning to the loop,
# /busy-after-start does so after its response has started, /sleep awaits Future::IO->sleep
# (the query string, in seconds: it returns to the loop meanwhile), /caught spins inside an
# eval that swallows the first interrupt; anything else answers at once.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  my $path = $scope->{path};
  if ($path eq '/busy') { 1 while 1 }  # BUSY-LINE
  if ($path eq '/busy-after-start') {
    await $send->({type => 'http.response.start', status => 200,
                   headers => [['content-type', 'text/plain']]});
    await $send->({type => 'http.response.body', body => 'partial', more => 1});
    1 while 1;
  }
  if ($path eq '/caught') {
    my $caught = eval { 1 while 1; 1 } ? '' : $@;
    1 while 1;  # the second interrupt is not caught
  }
  await Future::IO->sleep($scope->{query_string} || 2) if $path eq '/sleep';
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => "ok $path"});
};
