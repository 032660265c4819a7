# Test app: answers with the request's scope as JSON (code refs and objects left out), plus
# facts JSON cannot show: whether `path` has the UTF-8 flag, its bytes in hex, which core
# thread and interpreter answered and how many requests that interpreter has served.
# It mutates state/extensions after dumping them, to show each request gets fresh ones.
use strict;
use warnings;
use Future::AsyncAwait;
use JSON::PP ();

my $served = 0;    # per interpreter: every core has its own clone of this variable

async sub {
  my ($scope, $receive, $send) = @_;
  die "no lifespan support\n" if $scope->{type} eq 'lifespan';
  $served++;
  my %dump;
  for my $key (keys %$scope) {
    my $v = $scope->{$key};
    next if ref($v) eq 'CODE' || (ref($v) && ref($v) !~ /^(?:HASH|ARRAY)$/);
    $dump{$key} = $v;
  }
  my $path = $scope->{path};
  my $is_utf8 = utf8::is_utf8($path) ? 1 : 0;
  my $bytes = $path;
  utf8::encode($bytes) if $is_utf8;
  $dump{path} = $is_utf8 ? $path : join('', map { sprintf '\\x%02X', ord } split //, $path)
    if $path =~ /[^\x00-\x7f]/;
  $dump{_path_is_utf8} = $is_utf8;
  $dump{_path_hex} = unpack('H*', $bytes);
  $dump{_has_client} = exists $scope->{client} ? 1 : 0;
  my ($tid) = (readlink('/proc/thread-self') // '') =~ m{task/(\d+)};
  $dump{_thread} = $tid // 0;
  $dump{_served} = $served;
  $dump{_pid} = $$;
  my $json = JSON::PP->new->canonical->utf8->encode(\%dump);
  # Mutations must not leak into the next request's scope (fresh state/extensions each time).
  $scope->{state}{mutated} = 1;
  $scope->{extensions}{mutated} = 1;
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'application/json']]});
  await $send->({type => 'http.response.body', body => $json});
};
