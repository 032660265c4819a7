// http.response.body with `file` or `fh` (PAGI.md §3.2), streamed by the host: pieces of at
// most kFilePiece queued while the output is under the high watermark, resumed from
// on_writable; Content-Length announced when the size is known.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

// Last: perl.h defines short macros that would clash with the headers above.
#include "perl/perl_app.h"
#include <perliol.h>  // PerlIOBase flags: a layer that changes the bytes

namespace pagi::perl {

// http.response.body with `file` (a path we open) or `fh` (the app's handle), with optional
// offset and length. A pending Future, done once the last piece is queued.
SV* PerlApp::send_file(Request* r, HV* hv) {
  uint64_t offset = 0;
  int64_t length = -1;
  SV** o = hv_fetchs(hv, "offset", 0);
  if (o != nullptr && SvOK(*o)) {
    if (!looks_like_integer(*o) || SvNV(*o) < 0) {
      return future_fail("http.response.body: offset must be a non-negative integer");
    }
    offset = uint64_t(SvNV(*o));
  }
  SV** l = hv_fetchs(hv, "length", 0);
  if (l != nullptr && SvOK(*l)) {
    if (!looks_like_integer(*l) || SvNV(*l) < 0) {
      return future_fail("http.response.body: length must be a non-negative integer");
    }
    length = int64_t(SvNV(*l));
  }
  if (r->file) return future_fail("http.response.body: a file body is already being sent");
  auto fb = std::make_unique<FileBody>();
  SV** file = hv_fetchs(hv, "file", 0);
  if (file != nullptr && SvOK(*file)) {
    std::string_view path;
    if (!bytes_of(*file, &path)) {
      return future_fail("http.response.body: file contains wide characters (encode it)");
    }
    if (path.empty() || path.front() != '/' || path.find('\0') != std::string_view::npos) {
      return future_fail("http.response.body: file must be an absolute path");
    }
    std::string p(path);
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return future_fail("Cannot open file " + p + ": " + strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return future_fail("Cannot open file " + p + ": not a regular file");
    }
    uint64_t size = uint64_t(st.st_size);
    uint64_t start = std::min(offset, size);
    uint64_t avail = size - start;
    fb->fd = fd;
    fb->pos = start;
    fb->remaining = int64_t(length >= 0 ? std::min<uint64_t>(uint64_t(length), avail) : avail);
  } else {
    SV** fh = hv_fetchs(hv, "fh", 0);
    SV* v = fh != nullptr ? *fh : &PL_sv_undef;
    if (SvROK(v)) v = SvRV(v);
    IO* io = nullptr;
    if (isGV_with_GP(v)) {
      io = GvIO(reinterpret_cast<GV*>(v));
    } else if (SvTYPE(v) == SVt_PVIO) {
      io = reinterpret_cast<IO*>(v);
    }
    PerlIO* fp = io != nullptr ? IoIFP(io) : nullptr;
    if (fp == nullptr) return future_fail("http.response.body: fh is not an open filehandle");
    // Like the reference: an offset seeks, else the handle is read from where it is.
    if (offset > 0 && PerlIO_seek(fp, Off_t(offset), SEEK_SET) != 0) {
      std::string msg = "http.response.body: cannot seek fh: ";
      msg.append(strerror(errno));
      return future_fail(msg);
    }
    fb->io = fp;
    fb->fh = newSVsv(*fh);
    fb->remaining = length;
    // A regular file's rest is known: announce it (Content-Length), still reading to EOF.
    struct stat st {};
    int fd = PerlIO_fileno(fp);
    Off_t at = fd >= 0 ? PerlIO_tell(fp) : -1;
    if (at >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      int64_t rest = std::max<int64_t>(0, int64_t(st.st_size) - int64_t(at));
      fb->remaining = length >= 0 ? std::min(length, rest) : rest;
    }
  }
  if (r->ex == nullptr || !r->ex->response_started() || r->ex->response_complete()) {
    // The request is over, or a body before the start / after the end: ignored like any
    // such body (PAGI.md §3.7), without reading the file.
    close_file(fb.get());
    return future_done(nullptr);
  }
  if (splice_files_ && splice_file(r, fb.get())) {
    close_file(fb.get());  // the server has its own dup of the fd
    return future_done(nullptr);
  }
  if (fb->remaining >= 0) r->ex->announce_body_length(uint64_t(fb->remaining));
  SV* f = future_new();
  fb->future = SvREFCNT_inc_simple_NN(f);
  r->file = std::move(fb);
  pump_file(r);
  return f;
}

// A regular file's range handed to Exchange::send_file: the server sends it from the file to
// the socket without copying. Not for handles whose bytes are not the file's (a pipe or a
// socket, a layer that decodes, bytes PerlIO has buffered already) nor when the exchange
// refuses (trailers, a body already sent): those take the copy path (pump_file). The Future
// is done at once: the range is queued, as the copy path's is once its last piece is.
bool PerlApp::splice_file(Request* r, FileBody* fb) {
  if (fb->remaining < 0) return false;  // size unknown: not a regular file
  int fd = fb->fd;
  uint64_t at = fb->pos;
  if (fd < 0) {
    PerlIO* fp = fb->io;
    fd = PerlIO_fileno(fp);
    if (fd < 0 || (PerlIOBase(fp)->flags & (PERLIO_F_UTF8 | PERLIO_F_CRLF)) != 0) return false;
    if (PerlIO_get_cnt(fp) > 0) return false;  // read ahead: the fd's position is past it
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    Off_t pos = PerlIO_tell(fp);
    if (pos < 0) return false;
    at = uint64_t(pos);
  }
  SendResult res = r->ex->send_file(fd, at, uint64_t(fb->remaining));
  return res != SendResult::kInvalid;
}

// Queues file pieces until the output reaches the high watermark (on_writable resumes) or
// the file is done.
void PerlApp::pump_file(Request* r) {
  while (r->file && r->ex != nullptr) {
    FileBody* fb = r->file.get();
    if (r->ex->buffered_amount() >= r->high) return;  // the last send was kBlocked
    size_t want = kFilePiece;
    if (fb->remaining >= 0) want = size_t(std::min<int64_t>(fb->remaining, int64_t(want)));
    ssize_t n = 0;
    if (want > 0) {
      file_buf_.resize(want);
      if (fb->fd >= 0) {
        do {
          n = pread(fb->fd, file_buf_.data(), want, off_t(fb->pos));
        } while (n < 0 && errno == EINTR);
      } else {
        n = PerlIO_read(fb->io, file_buf_.data(), want);
        if (n == 0 && PerlIO_error(fb->io)) n = -1;
      }
    }
    if (n < 0) {
      std::string msg = "http.response.body: reading the file failed: ";
      msg.append(strerror(errno));
      end_file(r, msg.c_str());
      return;
    }
    fb->pos += uint64_t(n);
    if (fb->remaining >= 0) fb->remaining -= n;
    bool last = n == 0 || fb->remaining == 0;
    SendResult res = r->ex->send_body(std::string_view(file_buf_.data(), size_t(n)), !last);
    if (last || res == SendResult::kClosed || res == SendResult::kInvalid) {
      end_file(r, res == SendResult::kInvalid ? "http.response.body: refused" : nullptr);
      return;
    }
    check_watermarks(r);
  }
}

// The file body is over: close what we opened and settle its Future (failed with `error`).
void PerlApp::end_file(Request* r, const char* error) {
  std::unique_ptr<FileBody> fb = std::move(r->file);
  if (!fb) return;
  SV* f = fb->future;
  fb->future = nullptr;
  close_file(fb.get());
  if (f == nullptr) return;
  ENTER;
  SAVETMPS;
  if (error != nullptr) {
    std::string text(error);
    text.push_back('\n');
    resolve(sv_2mortal(f), "fail", newSVpvn(text.data(), text.size()));
  } else {
    resolve(sv_2mortal(f), "done", nullptr);
  }
  FREETMPS;
  LEAVE;
}

void PerlApp::close_file(FileBody* fb) {
  if (fb->fd >= 0) ::close(fb->fd);
  fb->fd = -1;
  SvREFCNT_dec(fb->fh);
  fb->fh = nullptr;
  fb->io = nullptr;
  SvREFCNT_dec(fb->future);
  fb->future = nullptr;
}

}  // namespace pagi::perl
