# Test app: its lifespan receives lifespan.startup and never answers (startup timeout).
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  if ($scope->{type} eq 'lifespan') {
    await $receive->();
    await Future->new;  # forever
  }
  await $send->({type => 'http.response.start', status => 200});
  await $send->({type => 'http.response.body', body => 'up'});
};
