# Lifespan: set things up once per worker (each pagi-server core runs its own lifespan, on its
# own interpreter) before any request, share them through the state, and clean up at
# shutdown. Requests get a shallow copy of the state: a container stored in it (here the hit
# counter) is shared, a key a request adds to its own copy is not.
# Run it with: pagi-server examples/lifespan/app.pl   then: curl localhost:5000/
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;
use Time::HiRes ();

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  if ($scope->{type} eq 'lifespan') {
    while (1) {
      my $event = await $receive->();
      if ($event->{type} eq 'lifespan.startup') {
        # Start-up work may wait on I/O or timers: the worker serves only once it is done.
        await Future::IO->sleep(0.01);
        $scope->{state}{started_at} = Time::HiRes::time();
        $scope->{state}{worker} = $scope->{pagi}{worker_num} // 1;
        $scope->{state}{hits} = {count => 0};
        await $send->({type => 'lifespan.startup.complete'});
      } elsif ($event->{type} eq 'lifespan.shutdown') {
        my $hits = $scope->{state}{hits}{count};
        warn "worker $scope->{state}{worker} served $hits requests\n";
        await $send->({type => 'lifespan.shutdown.complete'});
        return;
      }
    }
  }
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'http';
  my $state = $scope->{state};
  my $count = ++$state->{hits}{count};
  await $send->({
    type    => 'http.response.start',
    status  => 200,
    headers => [['content-type', 'text/plain']],
  });
  await $send->({
    type => 'http.response.body',
    body => sprintf("worker %d, request %d, up %.1fs\n", $state->{worker}, $count,
                    Time::HiRes::time() - $state->{started_at}),
  });
};

$app;
