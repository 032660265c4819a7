# Bidirectional WebSocket: one task answers what the client says ("you said: TEXT", upper
# case) while another pushes "server tick #N" every second unasked. Both share the connection;
# when the client leaves the reader ends and the ticker is cancelled with it.
# Run it with: pagi-server examples/websocket-ticks/app.pl
#   then: python3 -m websockets ws://localhost:5000/
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

async sub answer_messages {
  my ($receive, $send) = @_;
  while (1) {
    my $msg = await $receive->();
    return if $msg->{type} eq 'websocket.disconnect';
    next unless $msg->{type} eq 'websocket.receive' && defined $msg->{text};
    await $send->({type => 'websocket.send', text => 'you said: ' . uc $msg->{text}});
  }
}

async sub tick_every_second {
  my ($send) = @_;
  for (my $n = 1;; $n++) {
    await Future::IO->sleep(1);
    await $send->({type => 'websocket.send', text => "server tick #$n"});
  }
}

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'websocket';
  my $hello = await $receive->();
  die "Expected websocket.connect, got $hello->{type}\n"
    unless $hello->{type} eq 'websocket.connect';
  await $send->({type => 'websocket.accept'});
  # The first to finish wins; wait_any cancels the other (the ticker's pending sleep).
  await Future->wait_any(answer_messages($receive, $send), tick_every_second($send));
};

$app;
