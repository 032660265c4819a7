# Server-Sent Events ticker: starts an event stream and sends "tick" events 1 and 2 and a
# final two-line "done" a second apart, stopping early if the client disconnects. Each event
# has an id and the first a retry (the interval, in ms), so a browser's EventSource that
# reconnects after the stream ends sends Last-Event-ID: the ticker resumes after that event,
# and once every event was seen it answers 204, which tells EventSource to stop.
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

my @events = ({event => 'tick', data => 1}, {event => 'tick', data => 2},
              {event => 'done', data => "finished\nafter 2 ticks"});

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'sse';
  my ($interval) = ($scope->{query_string} =~ /(?:^|&)interval=([0-9.]+)/);
  $interval = 1 unless defined $interval && $interval > 0 && $interval <= 10;
  my ($last) = map { $_->[1] } grep { $_->[0] eq 'last-event-id' } @{$scope->{headers}};
  my $next = defined $last && $last =~ /\A[0-9]+\z/ ? $last + 1 : 1;
  if ($next > @events) {
    await $send->({type => 'sse.http.response.start', status => 204});
    await $send->({type => 'sse.http.response.body'});
    return;
  }
  await $send->({type => 'sse.start', status => 200,
                 headers => [['content-type', 'text/event-stream']]});
  my $gone = gone($receive);
  for my $id ($next .. @events) {
    await Future->wait_any(Future::IO->sleep($interval), $gone->without_cancel);
    last if $gone->is_ready;
    my %retry = $id == $next ? (retry => int($interval * 1000)) : ();
    await $send->({type => 'sse.send', id => $id, %retry, %{$events[$id - 1]}});
  }
  $gone->cancel unless $gone->is_ready;
};

$app;
