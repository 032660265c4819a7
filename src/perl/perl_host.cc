// The root Perl interpreter: created on the main thread, it loads the app once (so load
// errors stop the server before it listens, with the reference's messages) and is then the
// template every core clones. Also the Perl half of the host (PAGI::Server::Embed), kept here
// as source text so the binary needs no .pm files of its own.
#include "perl/perl_host.h"

#include <memory>
#include <mutex>
#include <string>

#include "common/log.h"

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/embed.h"

EXTERN_C void boot_DynaLoader(pTHX_ CV* cv);

namespace pagi::perl {

bool g_direct_futures = false;

namespace {

// Runs in the root before the app is loaded. The exit override and the warn hook must exist
// before the app's code is compiled; the Future::IO implementation must be installed before
// the app (or a module it loads) picks another one.
constexpr const char kBootstrap[] = R"PERL(
package PAGI::Server::Embed;
use strict;
use warnings;

our $APP;

# An app cannot end the server: exit becomes an error of the request that called it.
*CORE::GLOBAL::exit = sub (;$) {
  my $status = defined $_[0] ? $_[0] : 0;
  die "exit($status) called inside the application; pagi-server does not exit for it\n";
};

$SIG{__WARN__} = \&PAGI::Server::Embed::_warn;

require Future;
our $DIRECT = (Future->isa('Future::PP') && !Future->isa('Future::XS') && !Future::DEBUG()
               && !$Future::TIMES) ? 1 : 0;

sub _errstr { my ($e) = @_; return "$e" }

sub _chomped { my ($s) = @_; $s =~ s/\n\z//; return $s }

sub _type_of { my ($v) = @_; return ref($v) || 'non-reference' }

sub _load_file {
  my ($file) = @_;
  require File::Spec;
  $file = File::Spec->rel2abs($file);
  die "App file not found: $file\n" unless -f $file;
  local $0 = $file;
  local @ARGV = ($file);
  FindBin::again() if exists $INC{'FindBin.pm'};
  my $app = do $file;
  die "Error loading $file: $@\n" if $@;
  die "Error reading $file: $!\n" if !defined $app && $!;
  die "App file must return a coderef, got: " . _type_of($app) . "\n" unless ref $app eq 'CODE';
  return $app;
}

sub _load_module {
  my ($module, %args) = @_;
  die "Invalid module name: $module\n"
    unless $module =~ /^[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*$/;
  (my $file = "$module.pm") =~ s{::}{/}g;
  eval { require $file; 1 } or die "Cannot find module '$module': $@\n";
  die "Module '$module' does not have new() and to_app() methods\n"
    unless $module->can('new') && $module->can('to_app');
  my $app = $module->new(%args, _caller_file => $INC{$file})->to_app;
  die "Module '$module' to_app() did not return a coderef\n" unless ref $app eq 'CODE';
  return $app;
}

# $spec: { app, args => [...], has_eval, eval, modules => [...], libs => [...] }
sub load {
  my ($spec) = @_;
  unshift @INC, @{ $spec->{libs} } if @{ $spec->{libs} };
  for my $module (@{ $spec->{modules} }) {
    my ($mod, $imports) = split /=/, $module, 2;
    eval "require $mod; 1" or die "Cannot load module $mod: $@\n";
    my @imports = defined $imports ? split(/,/, $imports) : ();
    # Imported into main, where -e code is compiled (as perl -M does).
    eval { package main; $mod->import(@imports); 1 } or die "Cannot load module $mod: $@\n";
  }
  if ($spec->{has_eval}) {
    my $app = _eval_app($spec->{eval});
    die "Error evaluating -e code: $@\n" if $@;
    die "-e code must return a coderef, got: " . _type_of($app) . "\n" unless ref $app eq 'CODE';
    return $app;
  }
  my $name = $spec->{app};
  my %args;
  for my $arg (@{ $spec->{args} }) {
    if ($arg =~ /^([^=]+)=(.*)$/s) { $args{$1} = $2 }
    else { warn "Ignoring argument without '=': $arg\n" }
  }
  return _load_module($name, %args) if $name =~ /::/;
  return _load_file($name) if $name =~ m{/} || $name =~ /\.(?:pl|psgi)$/i;
  return -f $name ? _load_file($name) : _load_module($name, %args);
}

# The Future::IO implementation of every core: timers on the core's io_uring timer wheel and
# fd readiness as io_uring polls, so no app waits block the core thread.
package PAGI::Server::FutureIO;
require Future::IO::ImplBase;
our @ISA = ('Future::IO::ImplBase');

sub sleep {
  my (undef, $secs) = @_;
  my $f = Future->new;
  my $id = PAGI::Server::Embed::_timer($secs, $f);
  $f->on_cancel(sub { PAGI::Server::Embed::_cancel_timer($id) });
  return $f;
}

sub alarm {
  my ($class, $epoch) = @_;
  require Time::HiRes;
  return $class->sleep($epoch - Time::HiRes::time());
}

# Readiness is a one-shot poll on the ring; sysread/syswrite/accept/connect come from
# Future::IO::ImplBase on top of these two.
sub _ready {
  my ($fh, $write) = @_;
  my $fd = defined $fh ? fileno($fh) : undef;
  return Future->fail("Future::IO: not an open filehandle\n", 'pagi-server') unless defined $fd;
  my $f = Future->new;
  my $id = PAGI::Server::Embed::_poll($fd, $write, $f);
  $f->on_cancel(sub { PAGI::Server::Embed::_cancel_poll($id) });
  return $f;
}

sub ready_for_read  { my (undef, $fh) = @_; return _ready($fh, 0) }
sub ready_for_write { my (undef, $fh) = @_; return _ready($fh, 1) }

sub waitpid {
  return Future->fail("Future::IO->waitpid is not supported by pagi-server yet\n",
                      'pagi-server');
}

# The lifespan scope of one core (PAGI.md §2.6, §3.6), run on the core's loop. Outcomes go
# back to the host with _lifespan_report(PHASE, OK, MESSAGE): exactly one for 'startup', and
# one for 'shutdown' once asked for.
package PAGI::Server::Lifespan;
use Scalar::Util ();

our %STATE;    # the core's lifespan state: request scopes get a shallow copy
our $CURRENT;  # this core's lifespan, once started

sub startup {
  my ($class, $app, $mode, $timeout, $is_worker, $worker_num) = @_;
  my $self = bless { queue => [{ type => 'lifespan.startup' }], mode => $mode,
                     supported => 1 }, $class;
  $CURRENT = $self;
  my $scope = {
    type  => 'lifespan',
    pagi  => { version => '0.3', spec_version => '0.3', is_worker => $is_worker,
               worker_num => $worker_num },
    state => \%STATE,
  };
  my $receive = sub { $self->_receive };
  my $send = sub { $self->_send(@_) };
  if ($timeout > 0) {
    $self->{timer} = Future::IO->sleep($timeout)->on_done(sub {
      $self->_startup_result(0, "Lifespan startup timed out after ${timeout}s");
    });
  }
  my $f = eval { $app->($scope, $receive, $send) };
  if ($@) {
    $self->_app_ended($@);
  } elsif (Scalar::Util::blessed($f) && $f->isa('Future')) {
    $self->{app_future} = $f;
    $f->on_ready(sub {
      my $err = $f->is_cancelled ? "the lifespan Future was cancelled\n"
              : $f->is_failed ? ($f->failure)[0] // 'failed' : undef;
      $self->_app_ended($err);
    });
  } else {
    $self->_app_ended(undef);
  }
  return;
}

sub shutdown {
  my ($self) = @_;
  # Declined, or the app's lifespan task has ended: nobody would answer.
  return $self->_shutdown_result(1, '') if !$self->{supported} || $self->{ended};
  $self->{shutting_down} = 1;
  $self->_push({ type => 'lifespan.shutdown' });
  return;
}

sub _push {
  my ($self, $event) = @_;
  if (my $w = delete $self->{waiting}) { $w->done($event) } else { push @{ $self->{queue} }, $event }
}

sub _receive {
  my ($self) = @_;
  return Future->done(shift @{ $self->{queue} }) if @{ $self->{queue} };
  return $self->{waiting} //= Future->new;
}

sub _send {
  my ($self, $event) = @_;
  return Future->fail("send requires an event hash reference\n") unless ref $event eq 'HASH';
  my $type = $event->{type} // '';
  if ($type eq 'lifespan.startup.complete') { $self->_startup_result(1, '') }
  elsif ($type eq 'lifespan.startup.failed') { $self->_startup_result(0, $event->{message} // '') }
  elsif ($type eq 'lifespan.shutdown.complete') { $self->_shutdown_result(1, '') }
  elsif ($type eq 'lifespan.shutdown.failed') {
    $self->_shutdown_result(0, $event->{message} // '');
  }
  return Future->done;
}

sub _startup_result {
  my ($self, $ok, $message) = @_;
  return if $self->{started}++;
  if (my $t = delete $self->{timer}) { $t->cancel unless $t->is_ready }
  PAGI::Server::Embed::_lifespan_report('startup', $ok, $message);
}

sub _shutdown_result {
  my ($self, $ok, $message) = @_;
  return if $self->{stopped}++;
  PAGI::Server::Embed::_lifespan_report('shutdown', $ok, $message);
}

# The app's lifespan call ended (returned, died or its Future resolved).
sub _app_ended {
  my ($self, $err) = @_;
  $self->{ended} = 1;
  if (defined $err) { $err = PAGI::Server::Embed::_errstr($err); $err =~ s/\s+\z// }
  if (!$self->{started}) {
    # Returned or died without startup.complete/failed: a decline.
    if ($self->{mode} eq 'on') {
      my $why = defined $err ? "the application raised: $err"
                             : "the application returned without signalling startup";
      return $self->_startup_result(0, "lifespan_mode is 'on' but $why");
    }
    my $msg = 'Lifespan not supported, continuing without it';
    $msg .= " (application raised: $err)" if defined $err;
    PAGI::Server::Embed::_log('info', $msg);
    $self->{supported} = 0;
    return $self->_startup_result(1, '');
  }
  if ($self->{shutting_down}) {
    # Ended after lifespan.shutdown without saying how: its end is the answer.
    return $self->_shutdown_result(defined $err ? 0 : 1, $err // '');
  }
  PAGI::Server::Embed::_log('error', "Lifespan app failed after startup: $err") if defined $err;
  return;
}

package main;
require Future::IO;
Future::IO->override_impl('PAGI::Server::FutureIO');
1;
)PERL";

// -e code is compiled outside the loader's lexical scope, in package main, as perl -e does.
constexpr const char kEvalApp[] = R"PERL(
sub PAGI::Server::Embed::_eval_app { package main; return eval $_[0] }
1;
)PERL";

void xs_init(pTHX) {
  newXS("DynaLoader::boot_DynaLoader", boot_DynaLoader, __FILE__);
}

std::once_flag g_sys_init;

// The root interpreter. Lives as long as any copy of the factory.
class Root {
 public:
  ~Root() {
    if (interp_ == nullptr) return;
    PERL_SET_CONTEXT(interp_);
    PerlInterpreter* my_perl = interp_;
    PL_perl_destruct_level = 1;
    perl_destruct(interp_);
    perl_free(interp_);
    PERL_SET_CONTEXT(nullptr);
  }

  bool init(const PerlAppSpec& spec, std::string* error) {
    std::call_once(g_sys_init, [] {
      static int argc = 1;
      static char arg0[] = "pagi-server";
      static char* argv_storage[] = {arg0, nullptr};
      static char** argv = argv_storage;
      static char** env = nullptr;
      PERL_SYS_INIT3(&argc, &argv, &env);
    });
    interp_ = perl_alloc();
    if (interp_ == nullptr) {
      *error = "cannot allocate the Perl interpreter";
      return false;
    }
    PERL_SET_CONTEXT(interp_);
    PerlInterpreter* my_perl = interp_;
    perl_construct(interp_);
    PL_perl_destruct_level = 1;
    char arg0[] = "pagi-server";
    char arg1[] = "-e";
    char arg2[] = "0";
    char* args[] = {arg0, arg1, arg2, nullptr};
    if (perl_parse(interp_, xs_init, 3, args, nullptr) != 0 || perl_run(interp_) != 0) {
      *error = "cannot start the Perl interpreter";
      return false;
    }
    register_xs(aTHX);
    if (!eval_text(aTHX_ kBootstrap, "starting the Perl host", error) ||
        !eval_text(aTHX_ kEvalApp, "starting the Perl host", error)) {
      return false;
    }
    g_direct_futures = SvTRUE(get_sv("PAGI::Server::Embed::DIRECT", GV_ADD));
    return load(aTHX_ spec, error);
  }

  PerlInterpreter* interp() const { return interp_; }
  std::mutex& mutex() { return mutex_; }

 private:
  static bool eval_text(pTHX_ const char* code, const char* what, std::string* error) {
    eval_pv(code, FALSE);
    if (call_died(aTHX)) {
      *error = std::string(what) + ": " + error_text(aTHX_ ERRSV);
      return false;
    }
    return true;
  }

  static AV* string_list(pTHX_ const std::vector<std::string>& items) {
    AV* av = newAV();
    for (const std::string& s : items) av_push(av, newSVpvn(s.data(), s.size()));
    return av;
  }

  bool load(pTHX_ const PerlAppSpec& spec, std::string* error) {
    dSP;
    ENTER;
    SAVETMPS;
    HV* h = newHV();
    hv_stores(h, "app", newSVpvn(spec.app.data(), spec.app.size()));
    hv_stores(h, "args", newRV_noinc(reinterpret_cast<SV*>(string_list(aTHX_ spec.app_args))));
    hv_stores(h, "has_eval", newSViv(spec.has_eval ? 1 : 0));
    hv_stores(h, "eval", newSVpvn(spec.eval_code.data(), spec.eval_code.size()));
    hv_stores(h, "modules", newRV_noinc(reinterpret_cast<SV*>(string_list(aTHX_ spec.modules))));
    hv_stores(h, "libs", newRV_noinc(reinterpret_cast<SV*>(string_list(aTHX_ spec.libs))));
    PUSHMARK(SP);
    XPUSHs(sv_2mortal(newRV_noinc(reinterpret_cast<SV*>(h))));
    PUTBACK;
    int n = call_pv("PAGI::Server::Embed::load", G_SCALAR | G_EVAL);
    SPAGAIN;
    SV* app = n == 1 ? POPs : &PL_sv_undef;
    PUTBACK;
    bool ok = true;
    if (call_died(aTHX)) {
      *error = error_text(aTHX_ ERRSV);
      ok = false;
    } else {
      sv_setsv(get_sv("PAGI::Server::Embed::APP", GV_ADD), app);
    }
    FREETMPS;
    LEAVE;
    return ok;
  }

  PerlInterpreter* interp_ = nullptr;
  std::mutex mutex_;  // cloning reads the root: one core at a time (start-up only)
};

}  // namespace

std::string error_text(pTHX_ SV* err) {
  std::string text;
  if (SvROK(err)) {
    // An exception object: its stringification is Perl code that may itself die. Passed as a
    // copy: ERR is often $@ itself, which the G_EVAL call clears on entry.
    SV* copy = sv_2mortal(newSVsv(err));
    text = call_scalar(aTHX_ "PAGI::Server::Embed::_errstr", false, {copy}, [&](SV* s) {
      if (call_died(aTHX) || !SvOK(s)) {
        return std::string("(an exception object that cannot be printed)");
      }
      STRLEN len;
      const char* p = SvPV(s, len);
      return std::string(p, len);
    });
  } else if (SvOK(err)) {
    STRLEN len;
    const char* p = SvPV(err, len);
    text.assign(p, len);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

apps::AppFactory make_perl_factory(const PerlAppSpec& spec, std::string* error) {
  auto root = std::make_shared<Root>();
  if (!root->init(spec, error)) {
    // Leave no interpreter context behind on failure; the root is destroyed here.
    return {};
  }
  PERL_SET_CONTEXT(nullptr);
  LifespanConfig lifespan{spec.lifespan, spec.lifespan_startup_timeout};
  return [root, lifespan](int core, int cores, ring::Reactor& reactor,
                          std::string*) -> std::unique_ptr<App> {
    PerlInterpreter* clone;
    {
      std::lock_guard<std::mutex> lock(root->mutex());
      PERL_SET_CONTEXT(root->interp());
      clone = perl_clone(root->interp(), CLONEf_CLONE_HOST);
    }
    // perl_clone leaves the clone as this thread's context, which is what every later Perl
    // call on this core needs.
    PERL_SET_CONTEXT(clone);
    return make_perl_app(clone, core, cores, lifespan, reactor);
  };
}

}  // namespace pagi::perl
