# Progress reporting with the fullflush extension: each line of a long job is pushed to the
# client right away with http.fullflush (when the server advertises it in
# $scope->{extensions}), and the client learns through pagi.connection if it went away.
# Run it with: pagi-server examples/fullflush/app.pl   then: curl -N localhost:5000/
use strict;
use warnings;
use Future::AsyncAwait;
use Future::IO;

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'http';
  my $can_flush = exists $scope->{extensions}{fullflush};
  my $conn = $scope->{'pagi.connection'};
  my $gone;
  $conn->on_disconnect(sub { $gone = shift }) if $conn;
  await $send->({
    type    => 'http.response.start',
    status  => 200,
    headers => [['content-type', 'text/plain'], ['x-fullflush', $can_flush ? 'yes' : 'no']],
  });
  for my $step (1 .. 5) {
    last if $gone;
    await Future::IO->sleep(0.02);
    await $send->({type => 'http.response.body', body => "step $step done\n", more => 1});
    await $send->({type => 'http.fullflush'}) if $can_flush;
  }
  await $send->({type => 'http.response.body', body => $gone ? '' : "all done\n", more => 0});
};

$app;
