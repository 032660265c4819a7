# Test app: tries one invalid send chosen by the path, catches the failed send Future and
# answers 200 with its message (so tests can read it). Paths: /unknown /crlf /wide-header
# /wide-body /file /relative-file /bad-fh /status /fullflush (accepted: "error: none")
# /name-ctl /not-hash /trailer-crlf.
use strict;
use warnings;
use Future::AsyncAwait;

my %bad = (
  '/unknown'     => {type => 'http.response.bogus'},
  '/crlf'        => {type => 'http.response.start', status => 200,
                     headers => [['x-injected', "a\r\nset-cookie: evil=1"]]},
  '/name-ctl'    => {type => 'http.response.start', status => 200, headers => [["x-a\x01", 'v']]},
  '/wide-header' => {type => 'http.response.start', status => 200,
                     headers => [['x-wide', "\x{263A}"]]},
  '/status'      => {type => 'http.response.start', status => 'abc'},
  '/fullflush'   => {type => 'http.fullflush'},
  '/not-hash'    => 'just a string',
);

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  my $path = $scope->{path};
  my $error;
  my %body = (
    '/wide-body'     => {type => 'http.response.body', body => "\x{263A}"},
    '/file'          => {type => 'http.response.body', file => '/nonexistent/pagi-missing'},
    '/relative-file' => {type => 'http.response.body', file => 'relative.txt'},
    '/bad-fh'        => {type => 'http.response.body', fh => 'not a handle'},
  );
  if (my $ev = $body{$path}) {
    await $send->({type => 'http.response.start', status => 200, headers => []});
    eval { await $send->($ev); 1 } or $error = $@;
    await $send->({type => 'http.response.body', body => "error: " . ($error // 'none')});
    return;
  }
  if ($path eq '/trailer-crlf') {
    await $send->({type => 'http.response.start', status => 200, trailers => 1, headers => []});
    await $send->({type => 'http.response.body', body => 'x', more => 0});
    eval { await $send->({type => 'http.response.trailers', headers => [['x-t', "a\nb"]]}); 1 }
      or $error = $@;
    await $send->({type => 'http.response.trailers', headers => [['x-error', $error ? 1 : 0]]});
    return;
  }
  eval { await $send->($bad{$path}); 1 } or $error = $@;
  await $send->({type => 'http.response.start', status => 200, headers => []});
  await $send->({type => 'http.response.body', body => "error: " . ($error // 'none')});
};
