# Server-Sent Events ticker: starts an event stream and sends "tick" events 1 and 2 and a
# final "done" a second apart, stopping early if the client disconnects.
# Run it with: pagi-server examples/sse-ticker/app.pl
#   then: curl -N -H 'Accept: text/event-stream' localhost:5000/
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

# Resolves once the client has gone away (receive yields sse.disconnect).
async sub gone {
  my ($receive) = @_;
  while (1) {
    my $event = await $receive->();
    return $event->{reason} if $event->{type} eq 'sse.disconnect';
  }
}

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'sse';
  my ($interval) = ($scope->{query_string} =~ /(?:^|&)interval=([0-9.]+)/);
  $interval = 1 unless defined $interval && $interval > 0 && $interval <= 10;
  await $send->({type => 'sse.start', status => 200,
                 headers => [['content-type', 'text/event-stream']]});
  my $gone = gone($receive);
  for my $event ({event => 'tick', data => 1}, {event => 'tick', data => 2},
                 {event => 'done', data => 'finished'}) {
    await Future->wait_any(Future::IO->sleep($interval), $gone->without_cancel);
    last if $gone->is_ready;
    await $send->({type => 'sse.send', %$event});
  }
  $gone->cancel unless $gone->is_ready;
};

$app;
