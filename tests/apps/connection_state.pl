# Test app for pagi.connection (PAGI.md §2.7). Every request records what it saw in a
# per-interpreter log (run with --cores 1); /result answers with the log and clears it.
#   /complete        a clean response: response_started/_complete before and after each send,
#                    then on_complete (late callbacks registered 50 ms after the end too)
#   /wait            never answers: waits on disconnect_future, and records the order of
#                    on_disconnect, the future and the http.disconnect of a pending receive
#   /fail            dies after starting: on_disconnect('server_error')
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

my @log;

sub note { push @log, join ' ', @_ }

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  my $path = $scope->{path};
  my $conn = $scope->{'pagi.connection'};
  if ($path eq '/result') {
    my $body = join("\n", @log) . "\n";
    @log = ();
    await $send->({type => 'http.response.start', status => 200});
    await $send->({type => 'http.response.body', body => $body});
    return;
  }
  $conn->on_disconnect(sub {
    note "$path on_disconnect", $_[0];
    warn "$path disconnected: $_[0]\n";
  });
  $conn->on_complete(sub { note "$path on_complete", $conn->is_connected,
                              $conn->disconnect_reason // 'undef' });
  if ($path eq '/complete') {
    note "$path before", $conn->is_connected, $conn->response_started, $conn->response_complete;
    await $send->({type => 'http.response.start', status => 200});
    note "$path started", $conn->response_started, $conn->response_complete;
    await $send->({type => 'http.response.body', body => 'part', more => 1});
    await $send->({type => 'http.response.body', body => 'end'});
    note "$path sent", $conn->response_started, $conn->response_complete, $conn->is_connected;
    my $df = $conn->disconnect_future;
    Future::IO->sleep(0.05)->on_done(sub {
      note "$path later", $conn->is_connected, $conn->disconnect_reason // 'undef',
        $conn->response_complete, $df->is_ready ? 'ready' : 'pending';
      $conn->on_complete(sub { note "$path late on_complete" });
      $conn->on_disconnect(sub { note "$path late on_disconnect" });
    })->retain;
    return;
  }
  if ($path eq '/wait') {
    note "$path waiting";
    my $pending = $receive->();  # the (empty) body
    my $body = await $pending;
    my $next = $receive->();     # pends until the disconnect
    $next->on_done(sub { note "$path receive", $_[0]{type} });
    my $reason = await $conn->disconnect_future;
    note "$path future", $reason, $conn->is_connected, $conn->disconnect_reason;
    await Future::IO->sleep(0.01);
    $conn->on_disconnect(sub { note "$path late on_disconnect", $_[0] });
    $conn->on_complete(sub { note "$path late on_complete" });
    note "$path done", $conn->response_started, $conn->response_complete;
    return;
  }
  if ($path eq '/fail') {
    await $send->({type => 'http.response.start', status => 200});
    await $send->({type => 'http.response.body', body => 'partial', more => 1});
    die "deliberate\n";
  }
  await $send->({type => 'http.response.start', status => 404});
  await $send->({type => 'http.response.body', body => 'no such test'});
};
