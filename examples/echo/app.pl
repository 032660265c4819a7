# Echoes the request body back byte for byte as it arrives: each http.request event is sent
# on at once (a chunked response), so a large upload is never held in memory.
# Run it with: pagi-server examples/echo/app.pl
#   then: curl -s --data-binary @somefile localhost:5000/ | cmp - somefile
use strict;
use warnings;
use Future::AsyncAwait;

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'http';
  my $type = (map { $_->[1] } grep { $_->[0] eq 'content-type' } @{ $scope->{headers} })[0];
  await $send->({
    type    => 'http.response.start',
    status  => 200,
    headers => [['content-type', $type // 'application/octet-stream']],
  });
  while (1) {
    my $event = await $receive->();
    last if $event->{type} eq 'http.disconnect';  # the client went away
    await $send->({type => 'http.response.body', body => $event->{body},
                   more => $event->{more} ? 1 : 0});
    last unless $event->{more};
  }
};

$app;
