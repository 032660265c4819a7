# Test app for --max-requests: answers with how many requests this interpreter has served
# (a global: every fresh clone of the root starts at 0). Its lifespan startup awaits a short
# sleep (requests are held meanwhile) and both lifespan phases say so in the log. /slow?S
# awaits S seconds before answering. A websocket is accepted and kept until it is closed.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

my $served = 0;

async sub {
  my ($scope, $receive, $send) = @_;
  if ($scope->{type} eq 'lifespan') {
    while (1) {
      my $event = await $receive->();
      if ($event->{type} eq 'lifespan.startup') {
        await Future::IO->sleep(0.02);
        warn "recycle.pl: lifespan startup (served $served)\n";
        await $send->({type => 'lifespan.startup.complete'});
      } elsif ($event->{type} eq 'lifespan.shutdown') {
        warn "recycle.pl: lifespan shutdown (served $served)\n";
        await $send->({type => 'lifespan.shutdown.complete'});
        return;
      }
    }
  }
  if ($scope->{type} eq 'websocket') {
    await $receive->();  # websocket.connect
    await $send->({type => 'websocket.accept'});
    while (1) {
      my $event = await $receive->();
      return if $event->{type} eq 'websocket.disconnect';
    }
  }
  $served++;
  my $mine = $served;
  await Future::IO->sleep($scope->{query_string} || 0.1) if $scope->{path} eq '/slow';
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => "served $mine"});
};
