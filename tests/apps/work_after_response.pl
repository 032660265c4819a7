# Test app: answers at once, then goes on working (a 1.6 s sleep) before it returns, as an
# app doing clean-up after its response would.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => "answered\n"});
  await Future::IO->sleep(1.6) unless $scope->{path} eq '/fast';
  warn "work done for $scope->{path}\n";
};
