# Test app for websocket scopes (PAGI.md §2.5, §3.4, §4.3); the path picks the behaviour:
#   /echo       accept, echo text as "echo: T" (plus its length in characters) and bytes raw
#   /scope      accept, send the scope (less objects) as JSON, then close 1000
#   /protocol   accept choosing the last offered subprotocol, say which
#   /forbid     websocket.close before accept (403)
#   /deny       denial response: 401, x-why header, body in two pieces
#   /return     accept, send "bye", return (close 1000)
#   /die        accept, die (close 1011)
#   /die-early  die before accept (500)
#   /slow       accept, sleep 1 s without receiving, then drain and log the disconnect
#   /errors     accept, try bad sends and send each error message back as text
#   /transport  accept, send 64 x 64 KiB and log the on_high_water/on_drain sequence
# Every scope logs its disconnect event as "ws disconnect: CODE REASON".
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;
use JSON::PP ();

async sub drain_until_disconnect {
  my ($receive) = @_;
  while (1) {
    my $e = await $receive->();
    if ($e->{type} eq 'websocket.disconnect') {
      warn "ws disconnect: $e->{code} $e->{reason}\n";
      return $e;
    }
  }
}

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  die "websocket only\n" unless $scope->{type} eq 'websocket';
  my $path = $scope->{path};
  my $connect = await $receive->();
  die "expected websocket.connect, got $connect->{type}\n"
    unless $connect->{type} eq 'websocket.connect';

  if ($path eq '/forbid') {
    await $send->({type => 'websocket.close'});
    return;
  }
  if ($path eq '/deny') {
    await $send->({type => 'websocket.http.response.start', status => 401,
                   headers => [['content-type', 'text/plain'], ['x-why', 'no token']]});
    await $send->({type => 'websocket.http.response.body', body => 'Go ', more => 1});
    await $send->({type => 'websocket.http.response.body', body => 'away'});
    return;
  }
  die "dying before accept\n" if $path eq '/die-early';

  if ($path eq '/protocol') {
    my @offered = @{$scope->{subprotocols}};
    await $send->({type => 'websocket.accept', subprotocol => $offered[-1]});
    await $send->({type => 'websocket.send', text => 'chose ' . join(',', @offered)});
    await drain_until_disconnect($receive);
    return;
  }

  await $send->({type => 'websocket.accept', headers => [['x-accepted', 'yes']]});

  if ($path eq '/echo') {
    while (1) {
      my $e = await $receive->();
      if ($e->{type} eq 'websocket.disconnect') {
        warn "ws disconnect: $e->{code} $e->{reason}\n";
        last;
      }
      if (defined $e->{text}) {
        my $n = length $e->{text};
        await $send->({type => 'websocket.send', text => "echo: $e->{text} ($n)"});
      } else {
        await $send->({type => 'websocket.send', bytes => $e->{bytes}});
      }
    }
  } elsif ($path eq '/scope') {
    my %dump;
    for my $key (keys %$scope) {
      my $v = $scope->{$key};
      next if ref($v) && ref($v) !~ /^(?:HASH|ARRAY)$/;
      $dump{$key} = $v;
    }
    $dump{_transport} = ref $scope->{'pagi.transport'};
    $dump{_has_connection} = exists $scope->{'pagi.connection'} ? 1 : 0;
    $dump{_has_method} = exists $scope->{method} ? 1 : 0;
    $dump{_has_client} = exists $scope->{client} ? 1 : 0;
    await $send->({type => 'websocket.send',
                   text => JSON::PP->new->canonical->encode(\%dump)});
    await $send->({type => 'websocket.close', code => 1000, reason => 'done'});
    await drain_until_disconnect($receive);
  } elsif ($path eq '/return') {
    await $send->({type => 'websocket.send', text => 'bye'});
  } elsif ($path eq '/die') {
    await $send->({type => 'websocket.send', text => 'about to die'});
    die "boom in websocket\n";
  } elsif ($path eq '/slow') {
    await Future::IO->sleep(1);
    my $n = 0;
    while (1) {
      my $e = await $receive->();
      if ($e->{type} eq 'websocket.disconnect') {
        warn "ws disconnect: $e->{code} $e->{reason} after $n messages\n";
        last;
      }
      $n++;
    }
  } elsif ($path eq '/errors') {
    my @tries = (
      {type => 'websocket.nonsense'},
      {type => 'websocket.accept', subprotocol => 'again'},  # ignored: already accepted
      {type => 'websocket.http.response.start', status => 401},  # ignored after accept
      {type => 'websocket.send', bytes => "caf\x{e9}\x{263a}"},
      {type => 'websocket.close', code => 'abc'},
      {type => 'websocket.close', code => 1004},  # reserved: refused by the exchange
      {type => 'websocket.keepalive', interval => 'often'},
      {type => 'websocket.send'},  # neither text nor bytes: nothing sent
    );
    for my $ev (@tries) {
      my $f = $send->($ev);
      my $msg = $f->is_failed ? ($f->failure =~ s/\n\z//r) : 'ok';
      await $send->({type => 'websocket.send', text => "$ev->{type}: $msg"});
    }
    await $send->({type => 'websocket.send', text => 'done'});
    await drain_until_disconnect($receive);
  } elsif ($path eq '/transport') {
    my $t = $scope->{'pagi.transport'};
    my $seq = '';
    $t->on_high_water(sub { $seq .= 'H' })->on_drain(sub { $seq .= 'D' });
    # Incompressible, so permessage-deflate cannot shrink it below the watermarks.
    my $chunk = pack('N*', map { int rand 2**32 } 1 .. 16384);
    for my $i (1 .. 64) { await $send->({type => 'websocket.send', bytes => $chunk}) }
    warn sprintf "ws transport: seq=%s high=%d low=%d\n", $seq, $t->high_water_mark,
      $t->low_water_mark;
    await $send->({type => 'websocket.send', text => "seq=$seq"});
    await drain_until_disconnect($receive);
  }
};
