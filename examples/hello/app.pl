# The smallest PAGI application: answers every HTTP request with "Hello, World!".
# Run it with: pagi-server examples/hello/app.pl   (or script/server)
use strict;
use warnings;
use Future::AsyncAwait;

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'http';
  await $send->({
    type    => 'http.response.start',
    status  => 200,
    headers => [['content-type', 'text/plain']],
  });
  await $send->({type => 'http.response.body', body => 'Hello, World!'});
};

$app;
