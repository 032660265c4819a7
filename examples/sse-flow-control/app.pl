# SSE with flow control: a reading every 20 ms (padded to about 2 KB), but when the client
# falls behind (pagi.transport says more than half the high watermark is still unsent) the
# reading is skipped, so a slow client always gets the freshest one rather than a backlog.
# A summary line goes to the log every 50 readings.
# Run it with: pagi-server examples/sse-flow-control/app.pl
#   then: curl -N -H 'Accept: text/event-stream' --limit-rate 10k localhost:5000/
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;
use Time::HiRes ();

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'sse';
  my $transport = $scope->{'pagi.transport'};
  my ($limit) = ($scope->{query_string} =~ /(?:^|&)n=(\d+)/);  # readings, 0 = until gone
  $limit //= 0;
  await $send->({type => 'sse.start', status => 200});

  my $gone = 0;
  my $watch = (async sub {
    while (1) {
      my $event = await $receive->();
      if ($event->{type} eq 'sse.disconnect') { $gone = 1; return }
    }
  })->();

  my ($sent, $skipped) = (0, 0);
  for (my $i = 1; !$gone && ($limit == 0 || $i <= $limit); $i++) {
    await Future::IO->sleep(0.02);
    last if $gone;
    my $reading = sprintf('reading %d at %.3f ', $i, Time::HiRes::time()) . ('.' x 2000);
    my $ceiling = $transport ? ($transport->high_water_mark // 65536) : 65536;
    my $behind = $transport && $transport->buffered_amount > $ceiling / 2;
    if ($behind) {
      $skipped++;
    } else {
      $sent++;
      await $send->({type => 'sse.send', event => 'reading', id => $i, data => $reading});
    }
    warn sprintf "[%s] sent=%d skipped=%d buffered=%d\n", $behind ? 'conflating' : 'healthy',
      $sent, $skipped, $transport ? $transport->buffered_amount : 0
      if $i % 50 == 0;
  }
  $watch->cancel unless $watch->is_ready;
};

$app;
