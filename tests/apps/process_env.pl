# Test app: reports the process facts the process tests check: its pid, real and effective
# uid/gid, and the hand-over environment variables (which must never reach the app). The
# reload tests copy it and rewrite the two `my` lines below: a new version, a slow start-up.
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

my $version = 'v1';
my $startup_delay = 0;

async sub {
  my ($scope, $receive, $send) = @_;
  if ($scope->{type} eq 'lifespan') {
    while (1) {
      my $event = await $receive->();
      if ($event->{type} eq 'lifespan.startup') {
        await Future::IO->sleep($startup_delay) if $startup_delay;
        await $send->({type => 'lifespan.startup.complete'});
      } elsif ($event->{type} eq 'lifespan.shutdown') {
        await $send->({type => 'lifespan.shutdown.complete'});
        return;
      }
    }
  }
  my $env = join ',', map { "$_=" . ($ENV{$_} // 'unset') }
      qw(LISTEN_PID LISTEN_FDS LISTEN_FDNAMES PAGI_REUSE PAGI_RELOAD_FD);
  my $body = "version=$version pid=$$ uid=$< euid=$> gid=" . ($( + 0) . " egid=" . ($) + 0)
      . " env=$env";
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => $body});
};
