# Test app for file and fh bodies (PAGI.md §3.2). The query string is key=value pairs:
#   /file?path=P[&offset=O][&length=L]   http.response.body with file => P
#   /fh?path=P[&offset=O][&length=L]     the same through a filehandle the app opens and
#                                        closes after the send Future completes
#   /fh-memory                           an in-memory filehandle
#   /fh-pipe?path=P                      a pipe (`cat P`) as fh: not spliceable, copied
#   /fh?...&skip=N                       the app reads N bytes from the handle first
#   &watch=1                             log the watermark callbacks seen (file only)
# A send that fails is not caught: the app dies (a 500 when nothing was sent yet).
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') }
    grep { length } split /&/, $scope->{query_string};
  s/%([0-9A-Fa-f]{2})/chr hex $1/ge for values %q;
  my %range;
  $range{offset} = $q{offset} if exists $q{offset};
  $range{length} = $q{length} if exists $q{length};
  # watch=1: log the pagi.transport callbacks seen while the body streams (H high, D drain).
  my $seq = '';
  if ($q{watch}) {
    my $t = $scope->{'pagi.transport'};
    $t->on_high_water(sub { $seq .= 'H' })->on_drain(sub { $seq .= 'D' });
  }
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'application/octet-stream']]});
  if ($scope->{path} eq '/file') {
    await $send->({type => 'http.response.body', file => $q{path}, %range});
    warn "file transport: seq=$seq\n" if $q{watch};
  } elsif ($scope->{path} eq '/fh') {
    open my $fh, '<:raw', $q{path} or die "cannot open $q{path}: $!";
    read $fh, my $skipped, $q{skip} if $q{skip};  # PerlIO now holds read-ahead bytes
    await $send->({type => 'http.response.body', fh => $fh, %range});
    close $fh;
  } elsif ($scope->{path} eq '/fh-pipe') {
    open my $fh, '-|', 'cat', $q{path} or die "cannot run cat $q{path}: $!";
    await $send->({type => 'http.response.body', fh => $fh});
    close $fh;
  } elsif ($scope->{path} eq '/fh-memory') {
    my $data = "in-memory body\n" x 3;
    open my $fh, '<', \$data or die;
    await $send->({type => 'http.response.body', fh => $fh});
    close $fh;
  }
};
