# Test app as a module: pagi-server -I tests/apps/lib TestGreeter greeting=Hi
package TestGreeter;
use strict;
use warnings;
use Future;

sub new {
  my ($class, %args) = @_;
  return bless {greeting => $args{greeting} // 'Hello', caller_file => $args{_caller_file}},
    $class;
}

sub to_app {
  my ($self) = @_;
  return sub {
    my ($scope, $receive, $send) = @_;
    die "no lifespan support\n" if $scope->{type} eq 'lifespan';
    return $send->({type => 'http.response.start', status => 200, headers => []})->then(sub {
      $send->({type => 'http.response.body', body => "$self->{greeting} from TestGreeter"});
    });
  };
}

1;
