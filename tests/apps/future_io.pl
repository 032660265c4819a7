# Test app: Future::IO readiness on the core's ring. A pipe is written 100 ms later (from a
# Future::IO timer) and read with Future::IO->sysread, which waits on ready_for_read without
# blocking the core. /cancel starts a read, cancels it, and answers.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;
use IO::Handle;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  pipe(my $r, my $w) or die "pipe: $!";
  $_->blocking(0) for $r, $w;
  my $body;
  if ($scope->{path} eq '/cancel') {
    my $f = Future::IO->sysread($r, 100);
    $f->cancel;
    $body = $f->is_cancelled ? 'cancelled' : 'not cancelled';
  } else {
    my $writer = Future::IO->sleep(0.1)->then(sub { Future::IO->syswrite($w, 'ping') });
    my $data = await Future::IO->sysread($r, 100);
    await $writer;
    $body = "read $data";
  }
  await $send->({type => 'http.response.start', status => 200, headers => []});
  await $send->({type => 'http.response.body', body => $body});
};
