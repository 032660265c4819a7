# Test app file that is broken on purpose: does not compile.
sub { my ($scope = @_; };
