# Perl app for the large-body rows of bench/load.py (run by pagi-server and by the reference
# server alike): GET answers a body of PAGI_BENCH_BODY_SIZE bytes (default 1 MiB) in one send;
# POST reads the body event by event, drops it and answers its length. GET /file answers the
# same bytes as `file => PATH` (the "1 MiB file response" row): PAGI_BENCH_FILE (bench/load.py
# passes the file nginx serves), else a file written once into the temp dir when the app loads.
use strict;
use warnings;
use Future::AsyncAwait;
use File::Spec;

my $size = $ENV{PAGI_BENCH_BODY_SIZE} || 1048576;
my $big = 'x' x $size;
my $file = $ENV{PAGI_BENCH_FILE};
unless ($file) {
  $file = File::Spec->rel2abs(File::Spec->catfile(File::Spec->tmpdir, "pagi-bench-large-$size.bin"));
  open my $out, '>:raw', $file or die "cannot write $file: $!";
  print $out $big;
  close $out or die "cannot write $file: $!";
}

async sub {
  my ($scope, $receive, $send) = @_;
  die "Unsupported scope type: $scope->{type}\n" unless $scope->{type} eq 'http';
  if ($scope->{method} eq 'POST') {
    my $got = 0;
    while (1) {
      my $event = await $receive->();
      last unless $event->{type} eq 'http.request';
      $got += length($event->{body} // '');
      last unless $event->{more};
    }
    await $send->({type => 'http.response.start', status => 200,
                   headers => [['content-type', 'text/plain'],
                               ['content-length', length($got)]]});
    await $send->({type => 'http.response.body', body => "$got"});
    return;
  }
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'application/octet-stream'],
                             ['content-length', $size]]});
  if ($scope->{path} eq '/file') {
    await $send->({type => 'http.response.body', file => $file});
    return;
  }
  await $send->({type => 'http.response.body', body => $big});
};
