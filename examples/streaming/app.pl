# Streams a response in pieces with pauses between them (Future::IO sleeps run on the server's
# loop, so a waiting stream costs no thread), then ends it with trailers: a checksum of what
# was sent. Clients that do not ask for trailers (TE: trailers) still get the whole body.
# Run it with: pagi-server examples/streaming/app.pl   then: curl -N --raw localhost:5000/?n=5
use strict;
use warnings;
use Digest::MD5 ();
use Future::AsyncAwait;
use Future::IO;

my $app = async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'http';
  my ($n) = ($scope->{query_string} =~ /(?:^|&)n=(\d+)/);
  $n = 3 unless defined $n && $n > 0 && $n <= 100;
  await $send->({
    type     => 'http.response.start',
    status   => 200,
    headers  => [['content-type', 'text/plain'], ['trailer', 'x-content-md5, x-pieces']],
    trailers => 1,
  });
  my $md5 = Digest::MD5->new;
  for my $i (1 .. $n) {
    await Future::IO->sleep(0.05) if $i > 1;
    my $piece = "piece $i of $n\n";
    $md5->add($piece);
    await $send->({type => 'http.response.body', body => $piece, more => 1});
  }
  await $send->({type => 'http.response.body', body => '', more => 0});
  await $send->({
    type    => 'http.response.trailers',
    headers => [['x-content-md5', $md5->hexdigest], ['x-pieces', $n]],
  });
};

$app;
