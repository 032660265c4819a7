# Test app: a lifespan that sleeps (Future::IO, on the core's loop) before startup.complete,
# fills the state, and on lifespan.shutdown writes "shutdown <worker_num>" to the file named
# by $PAGI_TEST_MARKER. Requests answer with what they see of the state as JSON, then add a
# key to their copy (must not leak) and count in the shared container (must be shared).
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;
use JSON::PP ();

async sub {
  my ($scope, $receive, $send) = @_;
  if ($scope->{type} eq 'lifespan') {
    while (1) {
      my $event = await $receive->();
      if ($event->{type} eq 'lifespan.startup') {
        await Future::IO->sleep(0.2);
        $scope->{state}{greeting} = 'hello from lifespan';
        $scope->{state}{box} = {count => 0};
        $scope->{state}{worker_num} = $scope->{pagi}{worker_num};
        $scope->{state}{is_worker} = $scope->{pagi}{is_worker};
        await $send->({type => 'lifespan.startup.complete'});
      } elsif ($event->{type} eq 'lifespan.shutdown') {
        if (my $file = $ENV{PAGI_TEST_MARKER}) {
          open my $fh, '>>', $file or die "cannot write $file: $!";
          print $fh "shutdown $scope->{pagi}{worker_num}\n";
          close $fh;
        }
        await $send->({type => 'lifespan.shutdown.complete'});
        return;
      }
    }
  }
  my $state = $scope->{state};
  $state->{box}{count}++;
  my $body = JSON::PP->new->canonical->encode({
    greeting => $state->{greeting}, count => $state->{box}{count},
    leaked => $state->{leaked} // 0, worker_num => $state->{worker_num},
    is_worker => $state->{is_worker},
  });
  $state->{leaked} = 1;  # this request's shallow copy only
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'application/json']]});
  await $send->({type => 'http.response.body', body => $body});
};
