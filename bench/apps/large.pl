# Perl app for the large-body rows of bench/load.py (run by pagi-server and by the reference
# server alike): GET answers a body of PAGI_BENCH_BODY_SIZE bytes (default 1 MiB) in one send;
# POST reads the body event by event, drops it and answers its length.
use strict;
use warnings;
use Future::AsyncAwait;

my $size = $ENV{PAGI_BENCH_BODY_SIZE} || 1048576;
my $big = 'x' x $size;

async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'http';
  if ($scope->{method} eq 'POST') {
    my $got = 0;
    while (1) {
      my $event = await $receive->();
      last unless $event->{type} eq 'http.request';
      $got += length($event->{body} // '');
      last unless $event->{more};
    }
    await $send->({type => 'http.response.start', status => 200,
                   headers => [['content-type', 'text/plain'],
                               ['content-length', length($got)]]});
    await $send->({type => 'http.response.body', body => "$got"});
    return;
  }
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'application/octet-stream'],
                             ['content-length', $size]]});
  await $send->({type => 'http.response.body', body => $big});
};
