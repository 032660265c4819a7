# Test app: a chunked response in several pieces, then trailers (start has trailers => 1).
# /plain streams without trailers; /cancel-sleep checks a cancelled Future::IO sleep.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  my $trailers = $scope->{path} eq '/plain' ? 0 : 1;
  await $send->({type => 'http.response.start', status => 200, trailers => $trailers,
                 headers => [['content-type', 'text/plain']]});
  for my $i (1 .. 3) {
    await Future::IO->sleep(0.01);
    await $send->({type => 'http.response.body', body => "part$i;", more => 1});
  }
  if ($trailers) {
    await $send->({type => 'http.response.body', body => 'end', more => 0});
    await $send->({type => 'http.response.trailers',
                   headers => [['x-checksum', 'abc123'], ['x-parts', '3']]});
  } else {
    await $send->({type => 'http.response.body', body => 'end'});
  }
};
