# Test app: the lifespan task completes startup and then fails (logged, the server serves);
# its shutdown is answered by nobody, so the stop must not wait for it.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

async sub {
  my ($scope, $receive, $send) = @_;
  if ($scope->{type} eq 'lifespan') {
    await $receive->();
    await $send->({type => 'lifespan.startup.complete'});
    await Future::IO->sleep(0.1);
    die "background task crashed\n";
  }
  await $send->({type => 'http.response.start', status => 200});
  await $send->({type => 'http.response.body', body => 'still serving'});
};
