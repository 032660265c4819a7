# Test app for sse scopes (PAGI.md §2.4, §3.5); the path picks the behaviour:
#   /scope      the scope (less objects) as JSON in one event
#   /format     events with every line-break style, event/id/retry, comments, UTF-8, then
#               sse.close and a send after it (its error logged)
#   /decline    sse.http.response.start 404, a stream event (its error logged), the body in two
#               pieces
#   /decline204 a 204 decline with no body
#   /first-wins sse.start, then a decline (its error sent as data)
#   /post       the request body from sse.request events, echoed in one event
#   /errors     bad sends, each error sent back as an event's data
#   /keepalive  keepalive comments every 50 ms for 300 ms, then http.fullflush
#   /transport  64 events of 64 KiB, logging the on_high_water/on_drain sequence
#   /wait       one event, then the sse.disconnect reason logged
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;
use JSON::PP ();

sub error_of {
  my ($f) = @_;
  return $f->is_failed ? ($f->failure =~ s/\n\z//r) : 'ok';
}

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  die "sse only\n" unless $scope->{type} eq 'sse';
  my $path = $scope->{path};

  if ($path eq '/decline') {
    await $send->({type => 'sse.http.response.start', status => 404,
                   headers => [['content-type', 'text/plain']]});
    warn 'during decline: ' . error_of($send->({type => 'sse.send', data => 'x'})) . "\n";
    await $send->({type => 'sse.http.response.body', body => 'no ', more => 1});
    await $send->({type => 'sse.http.response.body', body => 'stream'});
    return;
  }
  if ($path eq '/decline204') {
    await $send->({type => 'sse.http.response.start', status => 204});
    await $send->({type => 'sse.http.response.body'});
    return;
  }
  if ($path eq '/post') {
    my $body = '';
    my $events = 0;
    while (1) {
      my $e = await $receive->();
      die "unexpected $e->{type}\n" unless $e->{type} eq 'sse.request';
      $events++;
      $body .= $e->{body};
      last unless $e->{more};
    }
    await $send->({type => 'sse.start'});
    await $send->({type => 'sse.send', data => "$scope->{method} " . length($body) . " $body"});
    return;
  }

  await $send->({type => 'sse.start', status => 200, headers => [['x-app', 'sse-test']]});

  if ($path eq '/scope') {
    my %dump;
    for my $key (keys %$scope) {
      my $v = $scope->{$key};
      next if ref($v) && ref($v) !~ /^(?:HASH|ARRAY)$/;
      $dump{$key} = $v;
    }
    $dump{_transport} = ref $scope->{'pagi.transport'};
    $dump{_has_connection} = exists $scope->{'pagi.connection'} ? 1 : 0;
    await $send->({type => 'sse.send', data => JSON::PP->new->canonical->encode(\%dump)});
  } elsif ($path eq '/format') {
    await $send->({type => 'sse.send', event => 'tick', id => '7', retry => 3000,
                   data => "a\nb\r\nc\rd"});
    await $send->({type => 'sse.send', data => "one"});
    await $send->({type => 'sse.send', data => "trailing\n"});
    await $send->({type => 'sse.comment', comment => "hello\nworld"});
    await $send->({type => 'sse.comment', comment => ':already'});
    await $send->({type => 'sse.send', data => "h\x{e9}llo \x{3bb}"});  # characters
    await $send->({type => 'sse.close'});
    await $send->({type => 'sse.close'});  # idempotent
    warn 'after close: ' . error_of($send->({type => 'sse.send', data => 'late'})) . "\n";
  } elsif ($path eq '/first-wins') {
    my $f = $send->({type => 'sse.http.response.start', status => 404});
    await $send->({type => 'sse.send', data => error_of($f)});
  } elsif ($path eq '/errors') {
    my @tries = (
      {type => 'sse.nonsense'},
      {type => 'sse.send', data => 'x', event => "two\nlines"},
      {type => 'sse.send', data => 'x', id => "a\rb"},
      {type => 'sse.send', data => 'x', retry => 'soon'},
      {type => 'sse.start', status => 'ok'},
      {type => 'sse.keepalive', interval => 'often'},
    );
    for my $ev (@tries) {
      await $send->({type => 'sse.send', data => "$ev->{type}: " . error_of($send->($ev))});
    }
  } elsif ($path eq '/keepalive') {
    await $send->({type => 'sse.keepalive', interval => 0.05, comment => 'ka'});
    await Future::IO->sleep(0.3);
    await $send->({type => 'sse.keepalive', interval => 0});
    await $send->({type => 'http.fullflush'});  # advertised on sse scopes: accepted
    await $send->({type => 'sse.send', data => 'end'});
  } elsif ($path eq '/transport') {
    my $t = $scope->{'pagi.transport'};
    my $seq = '';
    $t->on_high_water(sub { $seq .= 'H' })->on_drain(sub { $seq .= 'D' });
    my $chunk = 'q' x 65536;
    for my $i (1 .. 64) { await $send->({type => 'sse.send', data => $chunk}) }
    warn sprintf "sse transport: seq=%s high=%d low=%d\n", $seq, $t->high_water_mark,
      $t->low_water_mark;
  } elsif ($path eq '/wait') {
    await $send->({type => 'sse.send', data => 'hi'});
    while (1) {
      my $e = await $receive->();
      next if $e->{type} eq 'sse.request';
      warn "sse disconnect: $e->{type} $e->{reason}\n";
      last;
    }
  }
};
