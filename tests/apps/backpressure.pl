# Test app: streams 4 MiB in 64 KiB pieces and counts the $send Futures that were still
# pending when returned (output above --write-high-watermark), then logs the count.
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'application/octet-stream']]});
  my $chunk = 'x' x 65536;
  my $pending = 0;
  for my $i (1 .. 64) {
    my $f = $send->({type => 'http.response.body', body => $chunk, more => $i < 64 ? 1 : 0});
    $pending++ unless $f->is_ready;
    await $f;
  }
  warn "backpressure: pending=$pending\n";
};
