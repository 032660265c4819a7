# Test app: keeps $send/$receive past the end of the request and uses them 50 ms later; the
# server must ignore the send and answer the receive with http.disconnect. /result reports
# what the late calls saw (per interpreter: run with --cores 1).
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

my $result = 'none';

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  if ($scope->{path} eq '/result') {
    await $send->({type => 'http.response.start', status => 200, headers => []});
    await $send->({type => 'http.response.body', body => $result});
    return;
  }
  await $send->({type => 'http.response.start', status => 200, headers => []});
  await $send->({type => 'http.response.body', body => 'first'});
  Future::IO->sleep(0.05)->then(sub {
    my $s = $send->({type => 'http.response.body', body => 'late'});
    my $r = $receive->();
    $result = ($s->is_done ? 'send-done' : 'send-not-done') . ','
      . ($r->is_ready ? $r->get->{type} : 'receive-pending');
    Future->done;
  })->retain;
  return;
};
