# WebSocket echo: accepts every connection, answers each text message with "echo: TEXT" and
# sends binary messages back unchanged, until the client goes away.
# Run it with: pagi-server examples/websocket-echo/app.pl
#   then: python3 -m websockets ws://localhost:5000/   (Debian python3-websockets)
use strict;
use warnings;
use Future::AsyncAwait;

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'websocket';
  my $hello = await $receive->();
  die "Expected websocket.connect, got $hello->{type}\n"
    unless $hello->{type} eq 'websocket.connect';
  await $send->({type => 'websocket.accept'});
  while (1) {
    my $msg = await $receive->();
    last if $msg->{type} eq 'websocket.disconnect';
    next unless $msg->{type} eq 'websocket.receive';
    # text arrives as characters and goes out as UTF-8; bytes are raw both ways.
    my %reply = defined $msg->{text} ? (text => "echo: $msg->{text}") : (bytes => $msg->{bytes});
    await $send->({type => 'websocket.send', %reply});
  }
};

$app;
