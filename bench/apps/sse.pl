# Perl app for the sse row of bench/load.py: an event stream of 32-byte `data:` events, sent
# as fast as the client reads them (each send awaited: the host's flow control), until the
# client goes away.
use strict;
use warnings;
use Future::AsyncAwait;

my $data = 'x' x 32;

async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'sse';
  await $send->({type => 'sse.start', status => 200,
                 headers => [['content-type', 'text/event-stream']]});
  # Sends to a gone client are no-ops (PAGI.md §3.5) that complete at once, and a loop of
  # them never returns to the event loop, so the sse.disconnect is never seen. While the
  # client reads, a send blocks at the high watermark (64 KiB: ~1600 of these events), so
  # 20 000 sends in a row that never waited mean the client is gone.
  my $unblocked = 0;
  while ($unblocked < 20_000) {
    my $f = $send->({type => 'sse.send', data => $data});
    if ($f->is_ready) {
      $unblocked++;
    } else {
      $unblocked = 0;
    }
    await $f;
  }
};
