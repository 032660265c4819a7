# Test app file that is broken on purpose: returns a hash, not a code ref.
{ not => 'an app' };
