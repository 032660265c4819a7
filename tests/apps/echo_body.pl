# Test app: reads the request body event by event and echoes it, with the number of
# http.request events and the `more` flags seen, so tests can check body delivery.
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  my ($body, $events, @more) = ('', 0);
  while (1) {
    my $event = await $receive->();
    die "unexpected event $event->{type}\n" unless $event->{type} eq 'http.request';
    $events++;
    $body .= $event->{body};
    push @more, $event->{more} ? 1 : 0;
    last unless $event->{more};
  }
  # After the final http.request the response is sent; a receive then reports disconnect.
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'application/octet-stream'],
                             ['x-events', $events], ['x-last-more', $more[-1]]]});
  await $send->({type => 'http.response.body', body => $body});
  my $after = await $receive->();
  warn "after-response receive: $after->{type}\n" if $scope->{path} eq '/log-after';
};
