# Test app: warns (without a trailing newline, so Perl adds file and line), then answers.
use strict;
use warnings;
use Future::AsyncAwait;

async sub {
  my ($scope, $receive, $send) = @_;
  warn "careful-with-this";
  await $send->({type => 'http.response.start', status => 200, headers => []});
  await $send->({type => 'http.response.body', body => 'warned'});
};
