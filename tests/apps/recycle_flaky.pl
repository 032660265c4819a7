# Test app for --max-requests: its lifespan startup fails while the file named by
# PAGI_TEST_FAIL_FLAG exists ("db down"); requests answer with this interpreter's count.
use strict;
use warnings;
use Future::AsyncAwait;

my $served = 0;

async sub {
  my ($scope, $receive, $send) = @_;
  if ($scope->{type} eq 'lifespan') {
    my $event = await $receive->();
    my $flag = $ENV{PAGI_TEST_FAIL_FLAG};
    if (defined $flag && -e $flag) {
      await $send->({type => 'lifespan.startup.failed', message => 'db down'});
      return;
    }
    await $send->({type => 'lifespan.startup.complete'});
    $event = await $receive->();
    await $send->({type => 'lifespan.shutdown.complete'});
    return;
  }
  $served++;
  await $send->({type => 'http.response.start', status => 200,
                 headers => [['content-type', 'text/plain']]});
  await $send->({type => 'http.response.body', body => "served $served"});
};
