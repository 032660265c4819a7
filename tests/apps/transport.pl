# Test app for pagi.transport (PAGI.md §2.8): streams 4 MiB in 64 KiB pieces and logs the
# sequence of on_high_water (H) and on_drain (D) callbacks and the watermarks it was given.
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  my $t = $scope->{'pagi.transport'};
  my $seq = '';
  my $max = 0;
  $t->on_high_water(sub { $seq .= 'H'; my $b = $t->buffered_amount; $max = $b if $b > $max })
    ->on_drain(sub { $seq .= 'D' });
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'application/octet-stream']]});
  my $chunk = 'y' x 65536;
  for my $i (1 .. 64) {
    await $send->({type => 'http.response.body', body => $chunk, more => $i < 64 ? 1 : 0});
  }
  warn sprintf "transport: seq=%s high=%d low=%d max_at_high=%d\n", $seq, $t->high_water_mark,
    $t->low_water_mark, $max;
};
